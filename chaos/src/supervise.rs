//! Carrying out the kill plan on real processes — the part of a run that every
//! chapter's chaos shares. Each turn of a run's loop, [`Cast::step`] starts
//! again the processes whose downtime is over, starts again one that died by
//! itself (counted in the report: that is a bug, not chaos), and SIGKILLs the
//! victims the [`KillPlan`] says are due. Chapter 06 has a single process, its
//! server, and uses only [`restart_if_exited`].

use std::thread;
use std::time::{Duration, Instant};

use crate::plan::{KillPlan, Victim};
use crate::process::Supervised;
use crate::{ChaosError, Progress, Report, Settings};

/// A dispatcher and its worker processes, under a kill plan.
pub struct Cast {
    pub dispatcher: Supervised,
    pub workers: Vec<Supervised>,
    plan: KillPlan,
    downtime: Duration,
    /// Killed processes waiting for their restart: (victim, when).
    down: Vec<(Victim, Instant)>,
}

impl Cast {
    /// The plan starts now, seeded and paced by `settings`.
    pub fn new(dispatcher: Supervised, workers: Vec<Supervised>, settings: &Settings) -> Self {
        let plan = KillPlan::new(
            settings.seed,
            settings.workers,
            settings.worker_kill_every,
            settings.dispatcher_kill_every,
            Instant::now(),
        );
        Self {
            dispatcher,
            workers,
            plan,
            downtime: settings.downtime,
            down: Vec::new(),
        }
    }

    /// One turn of the chaos at `now`: restarts that are due, processes that
    /// died on their own, kills that are due (counted in `report`).
    pub fn step(
        &mut self,
        now: Instant,
        report: &mut Report,
        progress: Progress<'_>,
    ) -> Result<(), ChaosError> {
        let mut still_down = Vec::new();
        for (victim, at) in std::mem::take(&mut self.down) {
            if now >= at {
                self.process(victim).start()?;
            } else {
                still_down.push((victim, at));
            }
        }
        self.down = still_down;
        for process in std::iter::once(&mut self.dispatcher).chain(self.workers.iter_mut()) {
            restart_if_exited(process, report, progress)?;
        }
        for victim in self.plan.due(now) {
            if self.down.iter().any(|(v, _)| *v == victim) {
                continue;
            }
            self.process(victim).kill();
            match victim {
                Victim::Dispatcher => report.dispatcher_kills += 1,
                Victim::Worker(_) => report.worker_kills += 1,
            }
            let back = now + self.plan.downtime(self.downtime);
            self.down.push((victim, back));
        }
        Ok(())
    }

    /// Starts every process still down: the chaos is over.
    pub fn restart_all(&mut self) -> Result<(), ChaosError> {
        for (victim, _) in std::mem::take(&mut self.down) {
            self.process(victim).start()?;
        }
        Ok(())
    }

    fn process(&mut self, victim: Victim) -> &mut Supervised {
        match victim {
            Victim::Dispatcher => &mut self.dispatcher,
            Victim::Worker(index) => &mut self.workers[index],
        }
    }
}

/// Starts `process` again if it exited without being killed, and counts that
/// in `report` as an unexpected exit.
pub fn restart_if_exited(
    process: &mut Supervised,
    report: &mut Report,
    progress: Progress<'_>,
) -> Result<(), ChaosError> {
    if process.exited() {
        report.unexpected_exits += 1;
        progress(&format!(
            "{} exited by itself; starting it again (see {})",
            process.name(),
            process.log().display()
        ));
        thread::sleep(Duration::from_millis(200));
        process.start()?;
    }
    Ok(())
}
