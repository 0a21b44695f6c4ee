//! Step 5 — Surviving a dispatcher restart: Lazy Pirate.

use super::*;

#[test]
fn step5_a_worker_reopens_its_socket_when_an_answer_never_comes() {
    let (report, reconnects) = within(
        LIMIT,
        "a dispatcher that swallows one request, then a real one",
        RESTART,
        || {
            // A stand-in for a dispatcher that dies after reading a request: it takes
            // the worker's REQUEST_TASK and never answers it.
            let context = zmq::Context::new();
            let stand_in = context.socket(zmq::REP).expect("a socket");
            stand_in.set_linger(0).expect("linger");
            stand_in.set_rcvtimeo(3000).expect("a receive timeout");
            stand_in.bind(ANY_PORT).expect("binds a free port");
            let endpoint = stand_in
                .get_last_endpoint()
                .expect("an endpoint")
                .expect("a UTF-8 endpoint");
            let (events, log) = recording();
            let worker = RunningWorker::start(&endpoint, 1, events, RESTART);
            let swallowed = stand_in
                .recv_bytes(0)
                .or_book("the worker to send REQUEST_TASK within 3 s", CAPACITY);
            assert!(
                swallowed.starts_with(b"REQUEST_TASK"),
                "a worker with a free thread asks with REQUEST_TASK, got {:?}; {}",
                String::from_utf8_lossy(&swallowed),
                PROTOCOL.hint()
            );
            // The old dispatcher is gone for good, the request with it; a new one
            // listens on the same port.
            drop(stand_in);
            drop(context);
            let dispatcher =
                RunningDispatcher::start_on(&endpoint, Duration::from_secs(5), quiet());
            let mut client = dispatcher.client();
            let task_id = submit(&mut client, "add", json!({"a": 20, "b": 22}));
            let report = wait(
                &mut client,
                &task_id,
                "the worker's first request was read and never answered, so its REQ socket \
                 can neither send again nor ever hear an answer: after the timeout the worker \
                 must close that socket, connect a fresh one and ask again (Lazy Pirate).",
                RESTART,
            );
            drop(worker);
            dispatcher.shut_down();
            let reconnects = log
                .try_iter()
                .filter(|event| matches!(event, Event::Reconnecting { .. }))
                .count();
            (report, reconnects)
        },
    );
    assert_eq!(
        (report.status, report.result),
        (TaskStatus::Completed, Some(json!(42))),
        "the new dispatcher's task completes on the reconnected worker; {}",
        RESTART.hint()
    );
    assert!(
        reconnects >= 1,
        "each reconnect must be reported through `on_retry` (the worker's \
         Event::Reconnecting), got {reconnects} such events; {}",
        RESTART.hint()
    );
}

#[test]
fn step5_a_worker_survives_a_dispatcher_restart() {
    let (before, after) = within(LIMIT, "restarting the dispatcher", RESTART, || {
        let first = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let endpoint = first.workers.clone();
        let worker = RunningWorker::start(&endpoint, 1, quiet(), RESTART);
        let mut client = first.client();
        let id = submit(&mut client, "add", json!({"a": 1, "b": 1}));
        let before = wait_for_worker(&mut client, &id);
        first.shut_down();
        // The worker asks into the void for a while.
        thread::sleep(Duration::from_millis(700));
        let second = RunningDispatcher::start_on(&endpoint, Duration::from_secs(5), quiet());
        let mut client = second.client();
        let id = submit(&mut client, "add", json!({"a": 2, "b": 2}));
        let after = wait(
            &mut client,
            &id,
            "a worker must keep asking after its dispatcher went away and came back on the \
             same port (libzmq reconnects the socket by itself here; the test before this one \
             is the one that needs your reconnect).",
            RESTART,
        );
        drop(worker);
        second.shut_down();
        (before, after)
    });
    assert_eq!(
        before.result,
        Some(json!(2)),
        "the first dispatcher's task completes; {}",
        CAPACITY.hint()
    );
    assert_eq!(
        (after.status, after.result),
        (TaskStatus::Completed, Some(json!(4))),
        "after the dispatcher restarts, the same worker must complete the new dispatcher's \
         task; {}",
        RESTART.hint()
    );
}
