//! Step 2 — The pool.

use super::*;

#[test]
fn step2_pool_needs_at_least_one_worker() {
    let result = within(LIMIT, "ThreadPool::new(0)", POOL, || {
        ThreadPool::new(0).err()
    });
    assert_eq!(
        result,
        Some(PoolError::NoWorkers),
        "a pool of 0 workers could never run a job: refuse it with PoolError::NoWorkers; {}",
        POOL.hint()
    );
}

#[test]
fn step2_pool_runs_every_job_on_its_workers() {
    let ran_on = within(LIMIT, "100 jobs on 4 workers", POOL, || {
        let pool = ThreadPool::new(4).or_book("ThreadPool::new(4) to start a pool", POOL);
        let (done, finished) = unbounded();
        for job in 0..100 {
            let done = done.clone();
            pool.execute(move |worker| {
                let _ = done.send((job, worker));
            })
            .or_book("execute to queue the job", POOL);
        }
        drop(done);
        finished.iter().collect::<Vec<(usize, usize)>>()
    });
    let jobs: HashSet<usize> = ran_on.iter().map(|&(job, _)| job).collect();
    assert_eq!(
        jobs.len(),
        100,
        "expected all 100 jobs to run exactly once, {} did; {}",
        jobs.len(),
        POOL.hint()
    );
    assert!(
        ran_on.iter().all(|&(_, worker)| worker < 4),
        "worker ids must be 0..4, got {:?}; {}",
        ran_on.iter().map(|&(_, w)| w).collect::<HashSet<_>>(),
        POOL.hint()
    );
}

#[test]
fn step2_pool_jobs_really_overlap() {
    // Four jobs on four workers. Each one waits (up to 2 s) until all four are
    // running at once, so a pool that runs them one at a time shows it by the count,
    // not by a clock.
    let most_at_once = within(LIMIT, "4 jobs on 4 workers", POOL, || {
        // (jobs that arrived, jobs that left), and a way to wait for it to change.
        let state = Arc::new((Mutex::new((0_usize, 0_usize)), Condvar::new()));
        let most = Arc::new(AtomicUsize::new(0));
        let mut pool = ThreadPool::new(4).or_book("ThreadPool::new(4) to start a pool", POOL);
        for _ in 0..4 {
            let (state, most) = (Arc::clone(&state), Arc::clone(&most));
            pool.execute(move |_| {
                let (counts, changed) = &*state;
                let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
                counts.0 += 1;
                most.fetch_max(counts.0 - counts.1, Ordering::SeqCst);
                changed.notify_all();
                let (mut counts, _) = changed
                    .wait_timeout_while(counts, Duration::from_secs(2), |counts| counts.0 < 4)
                    .unwrap_or_else(|e| e.into_inner());
                counts.1 += 1;
            })
            .or_book("execute to queue the job", POOL);
        }
        pool.shutdown();
        most.load(Ordering::SeqCst)
    });
    assert_eq!(
        most_at_once,
        4,
        "4 jobs on 4 workers should all run at the same time, but at most {most_at_once} did; {}",
        POOL.hint()
    );
}

#[test]
fn step2_pool_holds_no_lock_while_a_job_runs() {
    // Job A waits for a message that only job B sends. If taking a job from the
    // queue held a lock for as long as the job ran, B could never start.
    let outcome = within(LIMIT, "two jobs that need each other", NO_LOCK, || {
        let mut pool = ThreadPool::new(2).or_book("ThreadPool::new(2) to start a pool", POOL);
        let (signal, wait_for_b) = unbounded::<()>();
        let (report, outcome) = unbounded();
        pool.execute(move |_| {
            let _ = report.send(wait_for_b.recv_timeout(Duration::from_secs(3)).is_ok());
        })
        .or_book("execute to queue job A", POOL);
        pool.execute(move |_| {
            let _ = signal.send(());
        })
        .or_book("execute to queue job B", POOL);
        pool.shutdown();
        outcome.recv().unwrap_or(false)
    });
    assert!(
        outcome,
        "job B never ran while job A was running: is a lock held for the whole job, as in \
         `while let Ok(job) = receiver.lock().recv()`? {}",
        NO_LOCK.hint()
    );
}

#[test]
fn step2_pool_survives_a_thousand_panicking_jobs() {
    const ON_PURPOSE: &str = "this job panics on purpose";
    silence_panics_saying(ON_PURPOSE);
    let completed = within(
        LIMIT,
        "1,000 panicking then 100 normal jobs",
        PANICS,
        || {
            let mut pool = ThreadPool::new(4).or_book("ThreadPool::new(4) to start a pool", POOL);
            let completed = Arc::new(AtomicUsize::new(0));
            for _ in 0..1_000 {
                pool.execute(|_| panic!("{}", ON_PURPOSE))
                    .or_book("execute to queue the job", POOL);
            }
            for _ in 0..100 {
                let completed = Arc::clone(&completed);
                pool.execute(move |_| {
                    completed.fetch_add(1, Ordering::SeqCst);
                })
                .or_book("execute to go on taking jobs after panics", PANICS);
            }
            pool.shutdown();
            completed.load(Ordering::SeqCst)
        },
    );
    assert_eq!(
        completed,
        100,
        "after 1,000 panicking jobs, all 100 normal jobs should still run, {completed} did: \
         a panic must not end its worker; {}",
        PANICS.hint()
    );
}

#[test]
fn step2_pool_reports_worker_start_and_stop() {
    let (started, stopped) = within(LIMIT, "a pool with an event hook", POOL, || {
        let (sender, events) = unbounded();
        let mut pool = ThreadPool::builder(3)
            .on_event(move |event| {
                let _ = sender.send(event);
            })
            .build()
            .or_book("build() to start a pool of 3", POOL);
        let started: Vec<WorkerEvent> = events.try_iter().collect();
        pool.shutdown();
        let stopped: Vec<WorkerEvent> = events.try_iter().collect();
        (started, stopped)
    });
    assert_eq!(
        started
            .iter()
            .filter(|e| matches!(e, WorkerEvent::Started(_)))
            .count(),
        3,
        "build() should return only once all 3 workers reported Started, got {started:?}; {}",
        POOL.hint()
    );
    assert_eq!(
        stopped
            .iter()
            .filter(|e| matches!(e, WorkerEvent::Stopping(_)))
            .count(),
        3,
        "shutdown() should return only once all 3 workers reported Stopping, got {stopped:?}; {}",
        SHUTDOWN.hint()
    );
}

#[test]
fn step2_dropping_the_pool_drains_the_queue_and_joins_every_worker() {
    let (completed, stopped) = within(LIMIT, "dropping a busy pool", SHUTDOWN, || {
        let completed = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&stopped);
        let pool = ThreadPool::builder(2)
            .on_event(move |event| {
                if let WorkerEvent::Stopping(_) = event {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
            .or_book("build() to start a pool of 2", POOL);
        for _ in 0..10 {
            let completed = Arc::clone(&completed);
            pool.execute(move |_| {
                thread::sleep(Duration::from_millis(10));
                completed.fetch_add(1, Ordering::SeqCst);
            })
            .or_book("execute to queue the job", POOL);
        }
        drop(pool);
        // Read both right after the drop: a pool that does not join its workers
        // returns while jobs are still queued.
        (
            completed.load(Ordering::SeqCst),
            stopped.load(Ordering::SeqCst),
        )
    });
    assert_eq!(
        completed,
        10,
        "dropping the pool should finish all 10 queued jobs first, {completed} had run; {}",
        SHUTDOWN.hint()
    );
    assert_eq!(
        stopped,
        2,
        "dropping the pool should join both workers, {stopped} had stopped; {}",
        SHUTDOWN.hint()
    );
}

#[test]
fn step2_executing_after_shutdown_is_an_error() {
    let result = within(LIMIT, "execute after shutdown", SHUTDOWN, || {
        let mut pool = ThreadPool::new(1).or_book("ThreadPool::new(1) to start a pool", POOL);
        pool.shutdown();
        pool.shutdown(); // twice is fine
        pool.execute(|_| {}).err()
    });
    assert_eq!(
        result,
        Some(PoolError::ShutDown),
        "a shut-down pool must refuse new jobs with PoolError::ShutDown; {}",
        SHUTDOWN.hint()
    );
}
