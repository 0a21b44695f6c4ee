//! Step 6 — A dispatcher that is gone for a while.

use super::*;

#[test]
fn step6_a_result_finished_while_the_dispatcher_is_down_is_delivered_after_its_restart() {
    let dir = TempDir::new("ch05-down");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let outcome = within(LIMIT, "a dispatcher restart", CACHE, move || {
        let (endpoint, first) = serve(dispatcher_config(ANY_PORT, &db), quiet());
        let mut client = client(&endpoint);
        let task = submit(&mut client, &NewTask::new("sleep", json!({"ms": 600})));
        let worker = work(
            worker_config(&endpoint, "patient", &["sleep"], &cache),
            events,
        );
        // The worker's word that it runs the task, not the store's: a lease the
        // dispatcher granted but never got to send would only expire.
        let running = wait_for_event(&log, Duration::from_secs(5), |e| match e {
            Event::Running { task_id, .. } if *task_id == task => Some(()),
            _ => None,
        });
        running.or_book("the worker to run the task (a Running event)", CACHE);
        first.shut_down();
        // The task finishes while nobody listens: the result must wait on disk.
        let mut cached = false;
        for _ in 0..200 {
            if files_in(&cache) > 0
                && log
                    .try_iter()
                    .any(|e| matches!(e, Event::Unreachable { cached: 1, .. }))
            {
                cached = true;
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let (_, _second) = serve(dispatcher_config(&endpoint, &db), quiet());
        let view = wait(&mut client, task, CACHE);
        drop(worker);
        let left = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(99);
        (cached, view, left)
    });
    let (cached, view, left) = outcome;
    assert!(
        cached,
        "with the dispatcher down, the finished result is cached on disk and the worker says \
         it is unreachable (an Unreachable event) with 1 result kept; {}",
        CACHE.hint()
    );
    assert_eq!(
        (view.status, view.attempts, view.result),
        (TaskStatus::Completed, 1, Some(json!(600))),
        "after the restart on the same database, the cached result is delivered: COMPLETED on \
         the first attempt, nothing computed again; {}",
        CACHE.hint()
    );
    assert_eq!(
        left,
        0,
        "an acknowledged result leaves the cache; {}",
        CACHE.hint()
    );
}

#[test]
fn step6_an_unreachable_dispatcher_is_tried_again_later_and_later() {
    let dir = TempDir::new("ch05-backoff");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let (dispatcher_events, dispatcher_log) = recorder::<Event>();
    // Nobody listens on this endpoint: a dispatcher bound it, and is gone.
    let (endpoint, gone) = serve(dispatcher_config(ANY_PORT, &db), quiet());
    gone.shut_down();
    let (waits, after_contact) = within(LIMIT, "a worker alone", CACHE, move || {
        let worker = work(worker_config(&endpoint, "alone", &["add"], &cache), events);
        let next_wait = || {
            wait_for_event(&log, Duration::from_secs(3), |e| match e {
                Event::Unreachable { retry_in, .. } => Some(*retry_in),
                _ => None,
            })
        };
        let waits: Vec<Option<Duration>> = (0..5).map(|_| next_wait()).collect();
        // The dispatcher comes back, the worker is heard, and the dispatcher goes again.
        let (_, back) = serve(dispatcher_config(&endpoint, &db), dispatcher_events);
        let heard = wait_for_event(&dispatcher_log, Duration::from_secs(3), |e| match e {
            Event::Registered { worker_id, .. } if worker_id == "alone" => Some(()),
            _ => None,
        });
        heard.or_book("the worker to register once the dispatcher is back", CACHE);
        thread::sleep(Duration::from_millis(100));
        back.shut_down();
        let _ = log.try_iter().count();
        let after_contact = next_wait();
        drop(worker);
        (waits, after_contact)
    });
    let ms = |wait: &Option<Duration>| wait.map(|wait| wait.as_millis());
    assert_eq!(
        waits.iter().map(ms).collect::<Vec<_>>(),
        vec![Some(50), Some(100), Some(200), Some(200), Some(200)],
        "each unanswered round is an Unreachable event, and the wait before the next try \
         doubles from `backoff.first` (50 ms here) up to `backoff.max` (200 ms); {}",
        CACHE.hint()
    );
    assert_eq!(
        ms(&after_contact),
        Some(50),
        "a round the dispatcher answered ends the backoff: the next outage starts again from \
         `backoff.first`; {}",
        CACHE.hint()
    );
}

#[test]
fn step6_a_dispatcher_on_a_new_database_gets_the_worker_registered_again() {
    let dir = TempDir::new("ch05-new-db");
    let (old_db, new_db, cache) = (dir.join("old.db"), dir.join("new.db"), dir.join("cache"));
    let view = within(
        LIMIT,
        "a dispatcher that forgot its workers",
        PROTOCOL,
        move || {
            let (endpoint, first) = serve(dispatcher_config(ANY_PORT, &old_db), quiet());
            let mut client = client(&endpoint);
            let _worker = work(worker_config(&endpoint, "loyal", &["add"], &cache), quiet());
            let task = submit(&mut client, &add(1, 1));
            wait(&mut client, task, CACHE);
            first.shut_down();
            // Back on the same endpoint, with a database that never heard of "loyal".
            let (_, _second) = serve(dispatcher_config(&endpoint, &new_db), quiet());
            let mut client = self::client(&endpoint);
            let task = submit(&mut client, &add(2, 3));
            wait(&mut client, task, PROTOCOL)
        },
    );
    assert_eq!(
        (view.status, view.lease_owner.as_deref(), view.result),
        (TaskStatus::Completed, Some("loyal"), Some(json!(5))),
        "a worker answered UNKNOWN_WORKER (to a heartbeat or a request for work) registers \
         again, and goes on working; {}",
        PROTOCOL.hint()
    );
}
