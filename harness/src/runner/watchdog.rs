//! Bounds on every phase of a run, so that the harness ends whatever
//! happens inside it. Each phase has a limit the runner awaits it under
//! (an overrun is exit 2, naming the phase); behind that, a thread outside
//! the async runtime ends the process should the run still not have
//! returned by run.timeout + drain_timeout + the grace (a blocked thread, a
//! deadlock), after killing the run's workers and removing its containers.

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::scenario::RunSpec;
use crate::workers::WorkerSet;

/// The phases of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Cluster start (or reuse) and the topic.
    Start,
    /// Producers and consumers at work, faults on their schedule.
    Workload,
    /// The producers are done; faults of the schedule are still to come or to heal.
    Faults,
    Drain,
    Stop,
    Audit,
    /// Heal, stop every worker, save logs, hand the cluster back.
    Teardown,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Workload => "workload",
            Phase::Faults => "faults",
            Phase::Drain => "drain",
            Phase::Stop => "stop",
            Phase::Audit => "audit",
            Phase::Teardown => "teardown",
        }
    }

    /// What sets the phase's limit, for the message that it overran.
    pub fn limit_of(self) -> &'static str {
        match self {
            Phase::Workload | Phase::Faults => "run.timeout",
            Phase::Drain => "drain_timeout + its share of the grace",
            Phase::Start | Phase::Stop | Phase::Audit | Phase::Teardown => "its share of the grace",
        }
    }
}

/// How long the phases that no scenario setting bounds may take. Their sum
/// is the grace: a run ends within run.timeout + drain_timeout + grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cluster start (a docker cluster pulls nothing but starts JVMs) and topic.
    pub start: Duration,
    /// Beyond drain_timeout: the high-watermark read that starts the drain.
    pub drain: Duration,
    /// Every member leaves (30 s grace each, at once), then is killed.
    pub stop: Duration,
    /// The final read of the log and of the groups' offsets.
    pub audit: Duration,
    pub teardown: Duration,
}

/// `FAULTLINE_GRACE` sets the grace (a duration such as `3m`).
pub const GRACE_ENV: &str = "FAULTLINE_GRACE";
const DEFAULT_GRACE: Duration = Duration::from_secs(8 * 60);

impl Limits {
    /// The grace shared among the phases, in the proportions of the default
    /// (start 2 min, drain 1.5, stop 1, audit 2.5, teardown 1).
    pub fn from_grace(grace: Duration) -> Limits {
        let part = |n: u32| grace * n / 16;
        Limits { start: part(4), drain: part(3), stop: part(2), audit: part(5), teardown: part(2) }
    }

    /// From `FAULTLINE_GRACE`, else the default of 8 minutes.
    pub fn from_env() -> Result<Limits, String> {
        match std::env::var(GRACE_ENV) {
            Err(_) => Ok(Limits::from_grace(DEFAULT_GRACE)),
            Ok(v) => humantime::parse_duration(v.trim()).map_err(|e| format!("{GRACE_ENV}={v}: {e}")).and_then(|g| {
                match g >= Duration::from_secs(1) {
                    true => Ok(Limits::from_grace(g)),
                    false => Err(format!("{GRACE_ENV}={v}: the grace must be at least 1s")),
                }
            }),
        }
    }

    pub fn grace(&self) -> Duration {
        self.start + self.drain + self.stop + self.audit + self.teardown
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::from_grace(DEFAULT_GRACE)
    }
}

/// The backstop fires this long after the phases' limits would have: they
/// get the first chance to end the run properly.
const BACKSTOP_SLACK: Duration = Duration::from_secs(30);

/// The phase a run is in and since when, and what each phase may take:
/// the one place the limits are read. Shared with the backstop thread.
#[derive(Clone)]
pub struct Clock {
    now: Arc<Mutex<(Phase, Instant)>>,
    limits: Limits,
    timeout: Duration,
    drain_timeout: Duration,
}

impl Clock {
    /// A run in its start phase from now.
    pub fn new(limits: Limits, run: &RunSpec) -> Clock {
        let now = Arc::new(Mutex::new((Phase::Start, Instant::now())));
        Clock { now, limits, timeout: run.timeout, drain_timeout: run.drain_timeout }
    }

    pub fn enter(&self, phase: Phase) {
        *self.now.lock().expect("clock") = (phase, Instant::now());
    }

    /// The producers are done while faults are still on: the phase is
    /// called `faults` from now, under the run.timeout it shares.
    pub fn faults_remain(&self) {
        self.now.lock().expect("clock").0 = Phase::Faults;
    }

    pub fn phase(&self) -> Phase {
        self.now.lock().expect("clock").0
    }

    pub fn limit(&self, phase: Phase) -> Duration {
        let l = &self.limits;
        match phase {
            Phase::Start => l.start,
            Phase::Workload | Phase::Faults => self.timeout,
            Phase::Drain => self.drain_timeout + l.drain,
            Phase::Stop => l.stop,
            Phase::Audit => l.audit,
            Phase::Teardown => l.teardown,
        }
    }

    /// The current phase, and when its limit runs out (counted from when
    /// it was entered: everything done in a phase shares its limit).
    pub fn deadline(&self) -> (Phase, Instant) {
        let (phase, since) = *self.now.lock().expect("clock");
        (phase, since + self.limit(phase))
    }

    /// When the backstop ends the process: every limit, and some slack.
    pub fn backstop(&self) -> Duration {
        self.timeout + self.drain_timeout + self.limits.grace() + BACKSTOP_SLACK
    }
}

/// Armed for one run; dropping it disarms the backstop.
pub struct Backstop {
    _disarm: Sender<()>,
    /// The run id the run's containers carry (the first run's, for a
    /// reused cluster), for the backstop's cleanup.
    containers: Arc<Mutex<Option<String>>>,
    docker: bool,
}

impl Backstop {
    pub fn containers_of(&self, run_id: &str) {
        if self.docker {
            *self.containers.lock().expect("backstop") = Some(run_id.to_string());
        }
    }
}

/// Starts the backstop: if the run has not ended (the Backstop dropped)
/// within `limit`, it says which phase it was in, kills the run's workers,
/// removes its containers and exits the process with 2.
pub fn arm(clock: Clock, run_id: &str, workers: WorkerSet, docker: bool) -> Backstop {
    let limit = clock.backstop();
    let (tx, rx) = channel::<()>();
    let containers = Arc::new(Mutex::new(None::<String>));
    let (run_id, docker_run) = (run_id.to_string(), containers.clone());
    std::thread::Builder::new()
        .name("faultline-watchdog".into())
        .spawn(move || {
            if rx.recv_timeout(limit) != Err(RecvTimeoutError::Timeout) {
                return;
            }
            let phase = clock.phase().name();
            tracing::error!("watchdog: run {run_id} did not end within {limit:?}, in phase `{phase}`");
            eprintln!(
                "faultline: watchdog: run {run_id} did not end within {} (run.timeout + drain_timeout + grace), \
                 stuck in phase `{phase}`; its workers are killed, its containers removed; exit 2",
                humantime::format_duration(limit)
            );
            // Whatever goes wrong from here, the process still exits.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                workers.close();
                let docker_run = docker_run.lock().map(|r| r.clone()).unwrap_or(None);
                if let Some(id) = docker_run {
                    let removed = tokio::runtime::Builder::new_current_thread().enable_all().build().map(|rt| {
                        rt.block_on(async {
                            tokio::time::timeout(Duration::from_secs(30), crate::cluster::cleanup_run(&id)).await
                        })
                    });
                    if !matches!(removed, Ok(Ok(Ok(_)))) {
                        eprintln!(
                            "faultline: watchdog: the containers of {id} may be left; `faultline cleanup` removes them"
                        );
                    }
                }
            }));
            std::process::exit(2);
        })
        .expect("the watchdog thread starts");
    Backstop { _disarm: tx, containers, docker }
}

/// Tests of the watchdog hang a phase on purpose: `FAULTLINE_HANG=drain`
/// awaits forever in the drain phase, `FAULTLINE_HANG=drain:thread` blocks
/// the runner's thread there. Debug builds only.
pub async fn hang_if_asked(phase: Phase) {
    #[cfg(debug_assertions)]
    if let Ok(v) = std::env::var("FAULTLINE_HANG") {
        let (name, how) = v.split_once(':').unwrap_or((&v, ""));
        if name == phase.name() {
            tracing::warn!("FAULTLINE_HANG: hanging in phase `{name}` on purpose");
            if how == "thread" {
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            std::future::pending::<()>().await;
        }
    }
    let _ = phase;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_is_the_sum_of_the_fixed_limits() {
        let l = Limits::default();
        assert_eq!(l.grace(), DEFAULT_GRACE);
        assert_eq!(l.start, Duration::from_secs(120));
        assert_eq!(l.audit, Duration::from_secs(150));
        assert_eq!(Limits::from_grace(Duration::from_secs(16)).grace(), Duration::from_secs(16));
    }

    #[test]
    fn a_phase_shares_its_limit_and_faults_keep_the_workload_s() {
        let run = RunSpec { timeout: Duration::from_secs(10), drain_timeout: Duration::from_secs(5) };
        let clock = Clock::new(Limits::from_grace(Duration::from_secs(16)), &run);
        let (phase, start_by) = clock.deadline();
        assert_eq!(phase, Phase::Start);
        assert_eq!(clock.limit(Phase::Drain), Duration::from_secs(5 + 3));
        assert_eq!(clock.backstop(), Duration::from_secs(10 + 5 + 16 + 30));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(clock.deadline().1, start_by, "still the start phase's deadline");
        clock.enter(Phase::Workload);
        let (_, workload_by) = clock.deadline();
        clock.faults_remain();
        assert_eq!(clock.deadline(), (Phase::Faults, workload_by));
    }
}
