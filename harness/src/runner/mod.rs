//! The runner: one scenario from start to a finished ledger. It owns every
//! resource of the run (cluster, workers, active faults) and tears all of
//! them down on every path out, including errors and Ctrl-C. It judges
//! nothing and writes nothing but the ledger, the scenario copy and logs:
//! the checker, the judge and the report take it from there.

mod audit;
mod clusters;
mod watchdog;

pub use clusters::Clusters;
use watchdog::Clock;
pub use watchdog::{Limits, Phase, GRACE_ENV};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use crate::cluster::{self, Cluster, ClusterError};
use crate::ledger::{self, Entry, Event, LedgerWriter, Offset, Partition, RunRecord};
use crate::nemesis::{self, Healer, Targets};
use crate::progress::Progress;
use crate::scenario::{Backend, Client, GroupIx, GroupSpec, MemberId, Scenario, WorkerId};
use crate::workers::{ConsumerWork, ProducerWork, Program, WorkerSet, WorkerSpec};

/// Why a run could not produce a ledger worth judging (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot write the run folder {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("the cluster did not start: {0}")]
    ClusterStart(#[source] ClusterError),
    /// The cluster's error names the topic.
    #[error("{source}")]
    Topic { topic: String, source: ClusterError },
    #[error("cannot start worker {name}: {source}")]
    Spawn { name: String, source: std::io::Error },
    #[error("worker {name} {why}; the end of its log ({}):\n{tail}", log.display())]
    Worker { name: String, why: String, tail: String, log: PathBuf },
    #[error(transparent)]
    Fault(#[from] nemesis::FaultError),
    #[error("faults could not be healed at teardown: {}", .0.join("; "))]
    Heal(Vec<String>),
    /// A phase took longer than its limit: the scenario's setting, or its
    /// share of the watchdog's grace.
    #[error("phase `{}` overran its limit of {} ({})", .phase.name(), humantime::format_duration(*.limit), .phase.limit_of())]
    Overran { phase: Phase, limit: Duration },
    #[error("{what}: {reason}")]
    Kafka { what: &'static str, reason: String },
    #[error("a task of the runner failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("interrupted")]
    Interrupted,
}

pub struct RunOptions {
    /// Folder that receives one subfolder per run.
    pub reports_dir: PathBuf,
    /// Show progress bars (only on a terminal).
    pub progress: bool,
    /// The faultline binary that runs the workers.
    pub worker_exe: PathBuf,
    /// Set by a caller that saw Ctrl-C itself (a sweep, between runs): the
    /// run ends as interrupted even if the signal came before it listened.
    pub stop: Option<Arc<AtomicBool>>,
    /// The limits of the phases no scenario setting bounds.
    pub limits: Limits,
}

/// Ctrl-C, or the caller's stop flag.
async fn interrupted(stop: Option<Arc<AtomicBool>>) {
    let flag = async {
        match stop {
            Some(flag) => {
                while !flag.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = flag => {}
    }
}

/// How long a member gets to leave cleanly before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// How long the drain waits for commits after everything was processed.
const COMMIT_SETTLE: Duration = Duration::from_secs(15);
/// `fut` within what is left of the current phase's limit; an overrun
/// names the phase the run is in by then.
async fn limited<T>(clock: &Clock, fut: impl std::future::Future<Output = Result<T, RunError>>) -> Result<T, RunError> {
    let (phase, deadline) = clock.deadline();
    let fut = async {
        watchdog::hang_if_asked(phase).await;
        fut.await
    };
    tokio::time::timeout_at(deadline.into(), fut).await.unwrap_or_else(|_| {
        let phase = clock.phase();
        Err(RunError::Overran { phase, limit: clock.limit(phase) })
    })
}

/// Runs one scenario to a complete ledger. The cluster comes from
/// `clusters` (kept from the previous scenario when it fits) and goes back
/// there when the run left it healthy.
pub async fn run(
    scenario: &Scenario,
    source: Option<&Path>,
    opts: &RunOptions,
    clusters: &mut Clusters,
) -> Result<RunRecord, RunError> {
    let run_id = run_id(&scenario.name);
    let dir = opts.reports_dir.join(&run_id);
    let logs_dir = dir.join("logs");
    std::fs::create_dir_all(&logs_dir).map_err(|source| RunError::Folder { path: dir.clone(), source })?;
    if let Some(src) = source {
        let _ = std::fs::copy(src, dir.join("scenario.toml"));
    }
    let started = std::time::Instant::now();
    let started_at = SystemTime::now();
    let (events, rx) = unbounded_channel();
    let progress = Arc::new(Progress::default());
    let ledger_path = dir.join(ledger::FILE_NAME);
    let writer = LedgerWriter::create(&ledger_path).map_err(|source| RunError::Folder { path: ledger_path, source })?;
    let ledger_task = tokio::spawn(write_ledger(rx, writer, progress.clone()));
    let backend = scenario.cluster.backend.name();
    let workers = WorkerSet::new(&opts.worker_exe, vec![("FAULTLINE_BACKEND".into(), backend.into())]);
    let clock = Clock::new(opts.limits, &scenario.run);
    let backstop = watchdog::arm(clock.clone(), &run_id, workers.clone(), scenario.cluster.backend == Backend::Docker);
    // Workers of a harness that died (SIGKILL) would otherwise live on.
    let orphans = crate::workers::reap_orphans();
    if !orphans.is_empty() {
        tracing::warn!("killed {} worker(s) left by a faultline that is gone: {orphans:?}", orphans.len());
    }

    let bar = phase_bar(opts.progress, "starting cluster");
    let start = limited(&clock, async {
        clusters.take(&scenario.cluster, &run_id, &logs_dir).await.map_err(RunError::ClusterStart)
    });
    let lent = tokio::select! {
        r = start => match r {
            Ok(lent) => lent,
            Err(e) => {
                cluster::abandon(&scenario.cluster, &run_id).await;
                return Err(e);
            }
        },
        _ = interrupted(opts.stop.clone()) => {
            cluster::abandon(&scenario.cluster, &run_id).await;
            return Err(RunError::Interrupted);
        }
    };
    bar.finish_and_clear();
    // The run id the cluster's containers carry: the first run's, if reused.
    let cluster_run = lent.reused_from.clone().unwrap_or_else(|| run_id.clone());
    backstop.containers_of(&cluster_run);
    let cluster = lent.cluster.clone();
    let described = match &lent.reused_from {
        Some(first) => format!("{}, reused from {first}", cluster.describe()),
        None => cluster.describe(),
    };
    let healer = Healer::new(cluster.clone());
    let run = Run {
        scenario,
        run_id: run_id.clone(),
        dir: dir.clone(),
        topic: scenario.topic.name.clone().unwrap_or_else(|| format!("faultline-{run_id}")),
        cluster: cluster.clone(),
        workers: workers.clone(),
        healer: healer.clone(),
        events: events.clone(),
        progress,
        show_progress: opts.progress,
        epoch: Instant::now(),
        clock: clock.clone(),
    };
    let result = tokio::select! {
        r = run.body() => r,
        _ = interrupted(opts.stop.clone()) => Err(RunError::Interrupted),
    };
    // Teardown on every path: heal, stop workers; the cluster is kept for
    // the next scenario only when all of that went well.
    clock.enter(Phase::Teardown);
    let teardown = limited(&clock, async {
        let heal_errors = healer.heal_all().await;
        workers.close();
        for w in workers.all() {
            w.wait().await;
        }
        // This run's part of the broker logs, also when the cluster is shared.
        if let Err(e) = cluster.save_logs(&logs_dir, started_at).await {
            tracing::warn!("cannot save the broker logs: {e}");
        }
        Ok(heal_errors)
    })
    .await;
    drop(run);
    drop(cluster);
    let healthy = result.is_ok() && teardown.as_ref().is_ok_and(|e| e.is_empty());
    // What is left of the teardown's limit; past it, the containers go by force.
    let (_, teardown_by) = clock.deadline();
    if tokio::time::timeout_at(teardown_by.into(), clusters.give_back(lent, healthy)).await.is_err() {
        tracing::error!("the cluster did not shut down within the teardown's limit: removing its containers");
        cluster::abandon(&scenario.cluster, &cluster_run).await;
    }
    // Again: a teardown cut short by its limit may not have got that far.
    workers.close();
    drop(events);
    // A task still running past its phase's limit (an audit read) may hold
    // a sender: what it wrote is flushed already, do not wait for it.
    if tokio::time::timeout(Duration::from_secs(5), ledger_task).await.is_err() {
        tracing::warn!("the ledger writer did not finish; the ledger holds what was written until now");
    }
    drop(backstop);
    let drain = result?;
    let heal_errors = teardown?;
    if !heal_errors.is_empty() {
        return Err(RunError::Heal(heal_errors));
    }
    Ok(RunRecord { run_id, dir, cluster: described, elapsed: started.elapsed(), drain })
}

/// The scenario name inside a run id made by [`run_id`].
pub fn scenario_of(run_id: &str) -> Option<&str> {
    run_id.get(15..run_id.len().checked_sub(5)?)
}

/// `<time>-<name made safe>-<random>`: unique, sortable, and the scenario
/// can be read back from it ([`scenario_of`]).
pub fn run_id(name: &str) -> String {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_digit()).collect();
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("{}-{}-{:04x}", &stamp[..14.min(stamp.len())], safe, rand::random::<u16>())
}

async fn write_ledger(mut rx: UnboundedReceiver<Entry>, mut writer: LedgerWriter, progress: Arc<Progress>) {
    while let Some(entry) = rx.recv().await {
        progress.observe(&entry);
        if let Err(e) = writer.append(&entry) {
            tracing::error!("ledger write failed ({}): {e}", writer.path().display());
        }
        while let Ok(entry) = rx.try_recv() {
            progress.observe(&entry);
            let _ = writer.append(&entry);
        }
        let _ = writer.flush();
    }
    let _ = writer.flush();
}

fn phase_bar(show: bool, msg: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(msg);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn count_bar(show: bool, msg: &'static str, len: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(msg);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

struct Run<'a> {
    scenario: &'a Scenario,
    run_id: String,
    dir: PathBuf,
    topic: String,
    cluster: Arc<dyn Cluster>,
    workers: WorkerSet,
    healer: Healer,
    events: UnboundedSender<Entry>,
    progress: Arc<Progress>,
    show_progress: bool,
    epoch: Instant,
    clock: Clock,
}

impl Run<'_> {
    fn emit(&self, src: &str, ev: Event) {
        let t = self.epoch.elapsed().as_millis() as u64;
        let _ = self.events.send(Entry { t, src: src.to_string(), ev });
    }

    /// Enters a phase the ledger records.
    fn phase(&self, phase: Phase) {
        tracing::info!("phase: {}", phase.name());
        self.clock.enter(phase);
        self.emit("runner", Event::Phase { name: phase.name().into() });
    }

    fn group_name(&self, i: GroupIx, g: &GroupSpec) -> String {
        g.name.clone().unwrap_or_else(|| format!("faultline-{}-{i}", self.run_id))
    }

    /// The run's phases, cut short when a worker fails by itself: the
    /// workload it was part of can no longer be judged.
    async fn body(&self) -> Result<Duration, RunError> {
        tokio::select! {
            r = self.phases() => r,
            e = self.worker_failure() => Err(e),
        }
    }

    async fn worker_failure(&self) -> RunError {
        loop {
            if let Some((name, why)) = self.progress.failed_worker() {
                let log = self.dir.join("logs").join(format!("{name}.log"));
                let tail = tail(&log, 10).unwrap_or_else(|| "(empty)".into());
                return RunError::Worker { name, why, tail, log };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn phases(&self) -> Result<Duration, RunError> {
        let s = self.scenario;
        // Still the start phase: the topic shares the cluster start's limit.
        limited(&self.clock, async {
            self.cluster
                .create_topic(&self.topic, s.topic.partitions, s.topic.replication)
                .await
                .map_err(|source| RunError::Topic { topic: self.topic.clone(), source })
        })
        .await?;
        self.phase(Phase::Workload);
        let start = Instant::now();
        let sink = self.raw_sink();

        // Consumers and producers start on their own schedules.
        let mut starts = tokio::task::JoinSet::new();
        for (gi, g) in s.groups.iter().enumerate() {
            let delay = g.start_after.unwrap_or_default();
            let group_ix = GroupIx(gi);
            let work = self.consumer_work(group_ix, g);
            let program = program(g);
            let (workers, dir, sink, bootstrap, topic) =
                (self.workers.clone(), self.dir.clone(), sink.clone(), self.cluster.bootstrap(), self.topic.clone());
            let (snapshot, bounded, members, partitions, group, events, epoch) = (
                g.stops_by_itself(),
                g.bounded,
                g.members,
                s.topic.partitions,
                self.group_name(group_ix, g),
                self.events.clone(),
                self.epoch,
            );
            starts.spawn(async move {
                tokio::time::sleep_until(start + delay).await;
                let mut work = work;
                if snapshot {
                    let hwms = tokio::task::spawn_blocking(move || audit::watermarks(&bootstrap, &topic, partitions))
                        .await?
                        .map_err(|reason| RunError::Kafka { what: "snapshot of the high watermarks", reason })?;
                    for &(p, hwm) in &hwms {
                        let t = epoch.elapsed().as_millis() as u64;
                        let _ = events.send(Entry {
                            t,
                            src: "runner".into(),
                            ev: Event::Snapshot { group: group.clone(), p, hwm },
                        });
                    }
                    if bounded {
                        work.snapshot = Some(hwms);
                    }
                }
                for member in 0..members {
                    let id = WorkerId::Member(MemberId { group: group_ix, member });
                    spawn_worker(&workers, id, &program, WorkerSpec::Consumer(work.clone()), &dir, &sink)?;
                }
                Ok::<(), RunError>(())
            });
        }
        for (pi, p) in s.producers.iter().enumerate() {
            let delay = p.start_after.unwrap_or_default();
            let work = ProducerWork {
                index: pi as u32,
                bootstrap: self.cluster.bootstrap(),
                topic: self.topic.clone(),
                records: p.records,
                rate: p.rate,
                keys: p.keys,
                acks: p.acks.as_config().into(),
                idempotence: p.idempotence,
                properties: p.properties.clone(),
            };
            let (workers, dir, sink) = (self.workers.clone(), self.dir.clone(), sink.clone());
            starts.spawn(async move {
                tokio::time::sleep_until(start + delay).await;
                spawn_worker(
                    &workers,
                    WorkerId::Producer(pi),
                    &Program::BuiltIn,
                    WorkerSpec::Producer(work),
                    &dir,
                    &sink,
                )
            });
        }

        let targets = Targets {
            cluster: self.cluster.clone(),
            workers: self.workers.clone(),
            join: self.join_fn(sink.clone()),
            events: self.raw_sink(),
            progress: self.progress.clone(),
            healer: self.healer.clone(),
            groups: Arc::new(s.groups.iter().enumerate().map(|(i, g)| self.group_name(GroupIx(i), g)).collect()),
            topic: self.topic.clone(),
        };
        let schedule = nemesis::run_schedule(s.plan(), targets, start);
        let schedule_done = std::sync::atomic::AtomicBool::new(false);

        // Two bars, one above the other: what the brokers acknowledged, and
        // what the groups processed (every group reads every record).
        let produced: u64 = s.producers.iter().map(|p| p.records).sum();
        let bars = indicatif::MultiProgress::with_draw_target(if self.show_progress {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        });
        let acked = bars.add(count_bar(self.show_progress, "acked", produced));
        let bar = bars.add(count_bar(self.show_progress, "processed", produced * s.groups.len() as u64));
        let workload = async {
            while let Some(r) = starts.join_next().await {
                r??;
            }
            // Producers done (each exits after its last delivery report).
            for pi in 0..s.producers.len() {
                if let Some(w) = self.workers.get(&WorkerId::Producer(pi).to_string()) {
                    w.wait().await;
                }
            }
            if !schedule_done.load(Ordering::SeqCst) {
                self.clock.faults_remain();
            }
            Ok::<(), RunError>(())
        };
        let ticker = async {
            loop {
                acked.set_position(self.progress.acked());
                bar.set_position(self.progress.processed());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        // The first error ends both: a worker that could not start must not
        // leave the schedule waiting for progress that will never come.
        let schedule = async {
            schedule.await?;
            schedule_done.store(true, Ordering::SeqCst);
            Ok::<(), RunError>(())
        };
        let both = async {
            tokio::try_join!(workload, schedule)?;
            Ok::<(), RunError>(())
        };
        tokio::select! {
            r = limited(&self.clock, both) => r?,
            _ = ticker => unreachable!("the ticker never ends"),
        }

        acked.finish_and_clear();
        self.phase(Phase::Drain);
        bar.set_message("draining");
        let drain = limited(&self.clock, self.drain(&bar)).await?;
        bar.finish_and_clear();
        self.phase(Phase::Stop);
        limited(&self.clock, async {
            futures::future::join_all(self.workers.all().iter().map(|w| w.stop(STOP_GRACE))).await;
            Ok(())
        })
        .await?;
        self.phase(Phase::Audit);
        limited(&self.clock, self.audit()).await?;
        Ok(drain)
    }

    /// Waits until every group has processed up to the final high
    /// watermarks (groups that stop by themselves: until their members exit).
    async fn drain(&self, bar: &ProgressBar) -> Result<Duration, RunError> {
        let s = self.scenario;
        let (bootstrap, topic, parts) = (self.cluster.bootstrap(), self.topic.clone(), s.topic.partitions);
        let hwms: Vec<(Partition, Offset)> =
            tokio::task::spawn_blocking(move || audit::watermarks(&bootstrap, &topic, parts))
                .await?
                .map_err(|reason| RunError::Kafka { what: "high watermarks for the drain", reason })?;
        let started = Instant::now();
        let deadline = started + s.run.drain_timeout;
        for (gi, g) in s.groups.iter().enumerate() {
            let gi = GroupIx(gi);
            // Since when the group has been caught up: its commits get
            // COMMIT_SETTLE from then to catch up too (auto commit runs on an
            // interval). A rebalance that sets it back starts the wait anew.
            let mut caught_up_since: Option<Instant> = None;
            let name = self.group_name(gi, g);
            let prefix = gi.member_prefix();
            loop {
                bar.set_position(self.progress.processed());
                // Bounded members exit by themselves. Others are done once
                // they hold every partition, have read it to the end and
                // committed that; the commit matters because stopping members
                // triggers rebalances that make later commits fail.
                let done = if g.stops_by_itself() {
                    self.workers.live_with_prefix(&prefix).is_empty()
                } else if self.progress.caught_up(&name, &hwms) {
                    let since = *caught_up_since.get_or_insert_with(Instant::now);
                    self.progress.committed_up_to(&name, &hwms) || since.elapsed() >= COMMIT_SETTLE
                } else {
                    caught_up_since = None;
                    false
                };
                if done {
                    break;
                }
                if Instant::now() >= deadline {
                    tracing::warn!("group {name} did not drain within {:?}", s.run.drain_timeout);
                    self.emit("runner", Event::DrainTimeout { group: name.clone() });
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(started.elapsed())
    }

    async fn audit(&self) -> Result<(), RunError> {
        let s = self.scenario;
        let bar = phase_bar(self.show_progress, "audit read");
        let (bootstrap, topic, parts) = (self.cluster.bootstrap(), self.topic.clone(), s.topic.partitions);
        let sink = self.events.clone();
        let epoch = self.epoch;
        let groups: Vec<String> = s.groups.iter().enumerate().map(|(i, g)| self.group_name(GroupIx(i), g)).collect();
        tokio::task::spawn_blocking(move || {
            let send = |ev: Event| {
                let _ = sink.send(Entry { t: epoch.elapsed().as_millis() as u64, src: "audit".into(), ev });
            };
            let hwms = audit::watermarks(&bootstrap, &topic, parts)?;
            audit::read_log(&bootstrap, &topic, &hwms, Duration::from_secs(120), send)?;
            for group in groups {
                for (p, o) in audit::group_offsets(&bootstrap, &topic, parts, &group)? {
                    send(Event::GroupOffset { group: group.clone(), p, o });
                }
            }
            send(Event::AuditEnd);
            Ok::<(), String>(())
        })
        .await?
        .map_err(|reason| RunError::Kafka { what: "audit read", reason })?;
        bar.finish_and_clear();
        Ok(())
    }

    /// What a member of group `gi` is to do; a bounded group's snapshot is
    /// filled in when the group starts.
    fn consumer_work(&self, gi: GroupIx, g: &GroupSpec) -> ConsumerWork {
        ConsumerWork {
            group: self.group_name(gi, g),
            bootstrap: self.cluster.bootstrap(),
            topic: self.topic.clone(),
            commit: g.commit,
            batch: g.batch,
            processing_us: g.processing.unwrap_or_default().as_micros() as u64,
            protocol: g.protocol,
            snapshot: None,
            idle_exit_ms: g.idle_exit.map(|d| d.as_millis() as u64),
            properties: g.properties.clone(),
        }
    }

    /// Workers and the nemesis report (source, event); the runner stamps
    /// the time as it receives them.
    fn raw_sink(&self) -> UnboundedSender<(String, Event)> {
        let (tx, mut rx) = unbounded_channel::<(String, Event)>();
        let events = self.events.clone();
        let epoch = self.epoch;
        tokio::spawn(async move {
            while let Some((src, ev)) = rx.recv().await {
                let t = epoch.elapsed().as_millis() as u64;
                if events.send(Entry { t, src, ev }).is_err() {
                    break;
                }
            }
        });
        tx
    }

    /// Starts a member: a replacement under the crashed member's id, or a
    /// new member under the group's next free id.
    fn join_fn(&self, sink: UnboundedSender<(String, Event)>) -> nemesis::JoinFn {
        let works: Vec<(Program, ConsumerWork)> = (self.scenario.groups.iter().enumerate())
            .map(|(i, g)| (program(g), self.consumer_work(GroupIx(i), g)))
            .collect();
        let members: Vec<u32> = self.scenario.groups.iter().map(|g| g.members).collect();
        let next = Arc::new(std::sync::Mutex::new(members));
        let (workers, dir) = (self.workers.clone(), self.dir.clone());
        Arc::new(move |group: GroupIx, member: Option<MemberId>| {
            let member = match member {
                Some(m) => m,
                None => {
                    let mut next = next.lock().map_err(|_| "join lock poisoned".to_string())?;
                    let member = next[group.0];
                    next[group.0] += 1;
                    MemberId { group, member }
                }
            };
            let (program, work) = &works[group.0];
            let spec = WorkerSpec::Consumer(work.clone());
            spawn_worker(&workers, WorkerId::Member(member), program, spec, &dir, &sink).map_err(|e| e.to_string())
        })
    }
}

/// The last `n` non-empty lines of a log file: a failed worker's last words.
fn tail(path: &Path, n: usize) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines: Vec<&str> = text.lines().rev().filter(|l| !l.trim().is_empty()).take(n).collect();
    lines.reverse();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// What a group's members run.
fn program(g: &GroupSpec) -> Program {
    match (&g.command, g.client) {
        (Some(argv), _) => Program::Command(argv.clone()),
        (None, Client::Rdkafka) => Program::BuiltIn,
        (None, client) => Program::Adapter(client),
    }
}

fn spawn_worker(
    workers: &WorkerSet,
    id: WorkerId,
    program: &Program,
    spec: WorkerSpec,
    dir: &Path,
    sink: &UnboundedSender<(String, Event)>,
) -> Result<(), RunError> {
    let name = id.to_string();
    workers
        .spawn(&name, program, &spec, &dir.join("logs"), sink.clone())
        .map_err(|source| RunError::Spawn { name, source })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_run_id_names_its_scenario() {
        let id = super::run_id("4-pause-equals-session-timeout");
        assert_eq!(super::scenario_of(&id), Some("4-pause-equals-session-timeout"));
    }
}
