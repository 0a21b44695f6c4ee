//! Step 3 — The Dispatcher service: chapter 05's store over gRPC.

use super::*;

/// A server whose Dispatcher store leases tasks for `lease` (in memory).
fn start_dispatcher(lease: Duration) -> (GrpcServer, Recorded) {
    let recorded = Recorded::default();
    let mut store = StoreOptions::default();
    store.store.lease = lease;
    let config = ServerConfig {
        address: "127.0.0.1:0".to_owned(),
        executor: ExecutorConfig {
            workers: 2,
            max_concurrent_rpcs: None,
        },
        store,
        ..ServerConfig::default()
    };
    let server = GrpcServer::start(config, recorded.sink()).expect("the server starts");
    (server, recorded)
}

fn worker(id: &str, kinds: &[&str]) -> pb::WorkerProperties {
    pb::WorkerProperties {
        id: id.to_owned(),
        capabilities: Vec::new(),
        kinds: kinds.iter().map(|kind| (*kind).to_owned()).collect(),
    }
}

fn result_json(text: &str) -> pb::submit_result_request::Outcome {
    pb::submit_result_request::Outcome::ResultJson(text.to_owned())
}

fn code_from<T>(answer: &Result<T, ClientError>) -> Option<Code> {
    answer.as_ref().err().and_then(ClientError::code)
}

/// The answer to a Dispatcher call that must succeed; an error fails the test with
/// what was expected and where the book explains it.
fn answered<T>(expected: &str, answer: Result<T, ClientError>) -> T {
    answer.unwrap_or_else(|error| {
        panic!(
            "expected {expected}, got the error {error}; {}",
            DISPATCHER.hint()
        )
    })
}

/// The lease a ClaimTask that must find a task answered.
fn leased(expected: &str, lease: Option<pb::Lease>) -> pb::Lease {
    lease.unwrap_or_else(|| {
        panic!(
            "expected {expected}, ClaimTask answered no lease; {}",
            DISPATCHER.hint()
        )
    })
}

#[test]
fn step3_dispatcher_submit_claim_result_then_status_is_done() {
    let (server, recorded) = start_dispatcher(Duration::from_secs(120));
    let (state, first, resend, stats, health) = with_client(
        &server,
        "submit, claim, result, status over the Dispatcher service",
        DISPATCHER,
        |channel| async move {
            let id = answered(
                "SubmitTask to answer the new task's id",
                client::submit_task(&channel, "add", r#"{"a": 2, "b": 3}"#).await,
            );
            answered(
                "a Heartbeat to register worker w1",
                client::heartbeat(&channel, worker("w1", &["add"]), Vec::new()).await,
            );
            let lease = leased(
                "ClaimTask to lease the submitted task to w1",
                answered(
                    "ClaimTask to answer",
                    client::claim_task(&channel, "w1").await,
                ),
            );
            assert_eq!(
                (lease.task_id, lease.kind.as_str(), lease.attempt),
                (id, "add", 1),
                "expected a first lease of task {id} (add), got {lease:?}; {}",
                DISPATCHER.hint()
            );
            let first = answered(
                "SubmitResult to accept the lease's result",
                client::submit_result(&channel, id, &lease.lease_token, result_json("5")).await,
            );
            let resend = answered(
                "the same result again to be accepted as a harmless resend",
                client::submit_result(&channel, id, &lease.lease_token, result_json("5")).await,
            );
            let state = answered(
                "GetTask to answer the task's state",
                client::get_task(&channel, id).await,
            );
            let stats = answered("Stats to answer", client::stats(&channel).await);
            let health = answered(
                "Dispatcher.Health to answer",
                client::dispatcher_health(&channel).await,
            );
            (state, first, resend, stats, health)
        },
    );
    assert_eq!(
        (state.status(), state.result_json.as_str()),
        (pb::TaskStatus::Done, "5"),
        "expected the task DONE with result 5, got {state:?}; {}",
        DISPATCHER.hint()
    );
    assert!(
        first.status() == pb::TaskStatus::Done
            && !first.already_recorded
            && resend.already_recorded,
        "expected DONE, then DONE (already recorded) for the resend; got {first:?} and {resend:?}; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        (stats.done, stats.queued, stats.workers.len()),
        (1, 0, 1),
        "expected 1 done, 0 queued, 1 worker, got {stats:?}; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        (health.status.as_str(), health.tasks),
        ("ok", 1),
        "expected Health ok with 1 task, got {health:?}; {}",
        DISPATCHER.hint()
    );
    // The store's work ran on the pool, like every handler.
    let on_pool = recorded.all().iter().any(
        |event| matches!(event, Event::Started { call, .. } if call.starts_with("SubmitTask")),
    );
    assert!(
        on_pool,
        "expected SubmitTask to run on a pool worker (an Event::Started for it), got {:?}; {}",
        recorded.all(),
        DISPATCHER.hint()
    );
}

#[test]
fn step3_dispatcher_refuses_a_stale_lease_token() {
    let lease = Duration::from_millis(200);
    let (server, _) = start_dispatcher(lease);
    let (stale, newer, state) = with_client(
        &server,
        "a result with the token of an expired lease",
        DISPATCHER,
        move |channel| async move {
            let id = answered(
                "SubmitTask to answer the new task's id",
                client::submit_task(&channel, "add", r#"{"a": 1, "b": 1}"#).await,
            );
            for name in ["slow", "fast"] {
                answered(
                    "a Heartbeat to register the worker",
                    client::heartbeat(&channel, worker(name, &["add"]), Vec::new()).await,
                );
            }
            let old = leased(
                "ClaimTask to lease the task to worker slow",
                answered(
                    "ClaimTask to answer",
                    client::claim_task(&channel, "slow").await,
                ),
            );
            // Let the lease run out, so another worker may take the task.
            tokio::time::sleep(lease * 2).await;
            let new = leased(
                "ClaimTask to lease the expired task to worker fast",
                answered(
                    "ClaimTask to answer",
                    client::claim_task(&channel, "fast").await,
                ),
            );
            let newer = client::submit_result(&channel, id, &new.lease_token, result_json("2"))
                .await
                .map(|answer| answer.status());
            let stale =
                client::submit_result(&channel, id, &old.lease_token, result_json("999")).await;
            let state = answered(
                "GetTask to answer the task's state",
                client::get_task(&channel, id).await,
            );
            (code_from(&stale), newer.map_err(|e| e.to_string()), state)
        },
    );
    assert_eq!(
        newer,
        Ok(pb::TaskStatus::Done),
        "the newer lease's result should be accepted; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        stale,
        Some(Code::FailedPrecondition),
        "expected a stale lease token to be refused with FAILED_PRECONDITION, got {stale:?}; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        state.result_json,
        "2",
        "a stale result must never overwrite the newer one: expected result 2, got {state:?}; {}",
        DISPATCHER.hint()
    );
}

#[test]
fn step3_dispatcher_answers_bad_input_with_clear_statuses_and_lives_on() {
    let (server, _) = start_dispatcher(Duration::from_secs(120));
    let (codes, after) = with_client(
        &server,
        "unknown ids and bad requests to the Dispatcher",
        DISPATCHER,
        |channel| async move {
            let codes = vec![
                (
                    "GetTask of an unknown id",
                    code_from(&client::get_task(&channel, 424_242).await),
                    Code::NotFound,
                ),
                (
                    "SubmitResult for an unknown id",
                    code_from(
                        &client::submit_result(&channel, 424_242, "token", result_json("1")).await,
                    ),
                    Code::NotFound,
                ),
                (
                    "SubmitTask with garbage JSON",
                    code_from(&client::submit_task(&channel, "add", "{not json").await),
                    Code::InvalidArgument,
                ),
                (
                    "SubmitTask of an unknown kind",
                    code_from(&client::submit_task(&channel, "teleport", "{}").await),
                    Code::InvalidArgument,
                ),
                (
                    "ClaimTask by a worker that never sent a Heartbeat",
                    code_from(&client::claim_task(&channel, "stranger").await),
                    Code::FailedPrecondition,
                ),
                (
                    "Heartbeat with no kinds",
                    code_from(&client::heartbeat(&channel, worker("w", &[]), Vec::new()).await),
                    Code::InvalidArgument,
                ),
            ];
            let after = client::submit_task(&channel, "add", r#"{"a": 1, "b": 2}"#)
                .await
                .map_err(|e| e.to_string());
            (codes, after)
        },
    );
    for (what, got, expected) in codes {
        assert_eq!(
            got,
            Some(expected),
            "{what}: expected {expected:?}, got {got:?}; {}",
            DISPATCHER.hint()
        );
    }
    assert!(
        after.is_ok(),
        "after bad requests the Dispatcher should still queue tasks, got {after:?}; {}",
        DISPATCHER.hint()
    );
}
