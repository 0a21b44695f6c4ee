//! When to kill what: a schedule drawn from a seeded generator, so that a run
//! that found a problem can be run again with the same kills in the same order.
//!
//! Each gap is drawn between half and one and a half times the mean, so kills
//! land at every point of a task's life (while it is claimed, running, or its
//! result is on its way) instead of in lockstep with the workers' timers.

use std::time::{Duration, Instant};

use rand::rngs::ChaCha12Rng;
use rand::{RngExt, SeedableRng};

/// Who to kill next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Victim {
    /// The worker at this index.
    Worker(usize),
    Dispatcher,
}

/// The seeded kill schedule.
pub struct KillPlan {
    rng: ChaCha12Rng,
    workers: usize,
    worker_every: Option<Duration>,
    dispatcher_every: Option<Duration>,
    next_worker: Option<Instant>,
    next_dispatcher: Option<Instant>,
}

impl KillPlan {
    /// A worker killed every `worker_every` on average, the dispatcher every
    /// `dispatcher_every`; `None` (or zero workers) never kills that kind.
    pub fn new(
        seed: u64,
        workers: usize,
        worker_every: Option<Duration>,
        dispatcher_every: Option<Duration>,
        start: Instant,
    ) -> Self {
        let mut plan = Self {
            rng: ChaCha12Rng::seed_from_u64(seed),
            workers,
            worker_every: worker_every.filter(|_| workers > 0),
            dispatcher_every,
            next_worker: None,
            next_dispatcher: None,
        };
        plan.next_worker = plan.worker_every.map(|every| start + plan.gap(every));
        plan.next_dispatcher = plan.dispatcher_every.map(|every| start + plan.gap(every));
        plan
    }

    fn gap(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(self.rng.random_range(0.5..1.5))
    }

    /// The kills due at `now`, each scheduling the next of its kind.
    pub fn due(&mut self, now: Instant) -> Vec<Victim> {
        let mut victims = Vec::new();
        if let (Some(at), Some(every)) = (self.next_worker, self.worker_every)
            && now >= at
        {
            victims.push(Victim::Worker(self.rng.random_range(0..self.workers)));
            self.next_worker = Some(now + self.gap(every));
        }
        if let (Some(at), Some(every)) = (self.next_dispatcher, self.dispatcher_every)
            && now >= at
        {
            victims.push(Victim::Dispatcher);
            self.next_dispatcher = Some(now + self.gap(every));
        }
        victims
    }

    /// A pause before a restart, up to `most`: a dead process stays dead a while.
    pub fn downtime(&mut self, most: Duration) -> Duration {
        most.mul_f64(self.rng.random_range(0.0..1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_kills_the_same_victims_and_both_kinds_come_due() {
        let start = Instant::now();
        let every = Some(Duration::from_secs(2));
        let ten = Some(Duration::from_secs(10));
        let victims = |seed| {
            let mut plan = KillPlan::new(seed, 4, every, ten, start);
            (1..=600)
                .flat_map(|tick| plan.due(start + Duration::from_millis(100) * tick))
                .collect::<Vec<_>>()
        };
        let first = victims(7);
        assert_eq!(first, victims(7));
        let dispatchers = first.iter().filter(|v| **v == Victim::Dispatcher).count();
        let workers = first.len() - dispatchers;
        // 60 s: about 30 worker kills and 6 dispatcher kills.
        assert!((20..=45).contains(&workers), "{workers} worker kills");
        assert!(
            (3..=10).contains(&dispatchers),
            "{dispatchers} dispatcher kills"
        );
        assert!(
            first
                .iter()
                .all(|v| matches!(v, Victim::Dispatcher | Victim::Worker(0..4)))
        );
    }

    #[test]
    fn without_workers_or_periods_nothing_is_killed() {
        let start = Instant::now();
        let mut plan = KillPlan::new(1, 0, Some(Duration::from_secs(1)), None, start);
        assert!(plan.due(start + Duration::from_secs(100)).is_empty());
    }
}
