//! Step 2 — Refuse beyond maximum_concurrent_rpcs.

use super::*;

#[test]
fn step2_beyond_max_concurrent_rpcs_calls_are_refused_at_once() {
    // One worker, at most 2 calls in flight: A runs, B queues, C is refused.
    let (server, recorded) = start_server(1, Some(2));
    let events = recorded.clone();
    let (a, b, c) = with_client(
        &server,
        "three calls, limit two",
        LIMIT_RPCS,
        |channel| async move {
            let a = spawn_started(&channel, slow_task("a", 1.0), &events, LIMIT_RPCS).await;
            let b = spawn_call(&channel, slow_task("b", 0.0));
            // B needs a moment to arrive and queue; nothing reports that, so wait.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let c = client::compute(&channel, slow_task("c", 0.0), None).await;
            let a = a.await.ok().map(|answer| answer.map(|r| r.value));
            let b = b.await.ok().map(|answer| answer.map(|r| r.value));
            (a, b, code_of(&c))
        },
    );
    assert_eq!(
        c,
        Some(Code::ResourceExhausted),
        "a third call with max_concurrent_rpcs 2 should be refused with RESOURCE_EXHAUSTED; {}",
        LIMIT_RPCS.hint()
    );
    let order: Vec<Event> = recorded
        .all()
        .into_iter()
        .filter(|e| matches!(e, Event::Refused { .. } | Event::Finished { .. }))
        .collect();
    assert!(
        matches!(order.first(), Some(Event::Refused { limit: 2 })),
        "the refusal should come at once, before the running call finished, got {order:?}; {}",
        LIMIT_RPCS.hint()
    );
    assert!(
        matches!((&a, &b), (Some(Ok(144)), Some(Ok(144)))),
        "the two calls within the limit should both be answered 144, got {a:?} and {b:?}; {}",
        LIMIT_RPCS.hint()
    );
}

#[test]
fn step2_below_max_concurrent_rpcs_calls_queue_for_a_free_worker() {
    let (server, recorded) = start_server(1, Some(3));
    let ok = with_client(
        &server,
        "three calls, limit three",
        LIMIT_RPCS,
        |channel| async move {
            let calls: Vec<_> = ["q1", "q2", "q3"]
                .into_iter()
                .map(|id| spawn_call(&channel, slow_task(id, 0.05)))
                .collect();
            let mut ok = 0;
            for call in calls {
                ok += usize::from(matches!(call.await, Ok(Ok(_))));
            }
            ok
        },
    );
    let (most, waves) = waves(&recorded.all());
    assert_eq!(
        (ok, most, waves),
        (3, 1, 3),
        "3 calls within a limit of 3 on 1 worker should all succeed, one at a time, in 3 \
         waves; got {ok} ok, {most} at once, {waves} waves; {}",
        LIMIT_RPCS.hint()
    );
}
