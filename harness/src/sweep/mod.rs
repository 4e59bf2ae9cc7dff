//! `faultline sweep`: one scenario run at every point of a grid of settings,
//! several times each, summed up per point (table, CSV, JSON, plots, a page).
//!
//! A point is the scenario file with one value per axis written in
//! ([`axis::set`]) and loaded by the same loader as any file, so a path that
//! is not a field, or a value of the wrong type, is refused before anything
//! runs. Every run goes through a [`Session`] and is judged as `faultline
//! run` judges it; points of one shape share the session's cluster.

mod axis;
mod output;
mod plan;
mod plot;
mod result;

pub use axis::{Axis, FieldPath};
pub use output::{merge, render, write};
pub use plan::{document, plan, Partition, Plan, Point, Request};
pub use result::{AxisResult, Metric, PointResult, RunResult, Stat, Summary, SweepResult};

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use crate::runner::RunError;
use crate::scenario::{Backend, ScenarioError};
use crate::session::{self, Session};

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Scenario(#[from] Box<ScenarioError>),
    #[error("{0}")]
    Spec(String),
    /// A point the loader refuses: the setting, and the loader's error.
    #[error("sweep point {setting}: {source}")]
    Point { setting: String, source: Box<ScenarioError> },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Session(#[from] session::Error),
}

impl From<ScenarioError> for SweepError {
    fn from(e: ScenarioError) -> Self {
        SweepError::Scenario(Box::new(e))
    }
}

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sweep folder: sweep.csv, sweep.json, sweep.html, the plots,
    /// `points/` (a scenario file per point) and `runs/` (their run folders).
    pub out: PathBuf,
    /// Runs at once; more than 1 only on the mock (a Docker cluster is shared).
    pub jobs: usize,
    pub partition: Option<Partition>,
    /// A bar with runs done and time left, on stderr.
    pub progress: bool,
    /// The faultline binary that runs the workers (default as for a Session).
    pub worker_exe: Option<PathBuf>,
}

/// Runs every point of `plan` (of the partition) `plan.repeat` times and
/// writes the sweep folder, also after Ctrl-C (with the points finished).
pub fn run(plan: &Plan, opts: &Options) -> Result<SweepResult, SweepError> {
    let started = Instant::now();
    let jobs = opts.jobs.max(1);
    if jobs > 1 && plan.points.iter().any(|p| p.scenario.cluster.backend != Backend::Mock) {
        return Err(SweepError::Spec(format!(
            "--jobs {jobs}: runs at once need the embedded mock (each has its own); on Docker the points share one cluster"
        )));
    }
    let points: Vec<&Point> =
        plan.points.iter().filter(|p| opts.partition.is_none_or(|part| part.holds(p.index))).collect();
    let io = output::io;
    let points_dir = opts.out.join("points");
    std::fs::create_dir_all(&points_dir).map_err(io(&points_dir))?;
    for p in &points {
        let f = points_dir.join(point_file(p.index));
        std::fs::write(&f, &p.text).map_err(io(&f))?;
    }

    // Points of one cluster shape one after another, so that they share it.
    let mut order = points.clone();
    order.sort_by_key(|p| format!("{:?}", p.scenario.cluster.shape()));
    let queue: VecDeque<(usize, u32)> =
        order.iter().flat_map(|p| (1..=plan.repeat).map(move |r| (p.index, r))).collect();
    let total = queue.len();
    let queue = Mutex::new(queue);
    let stop = Arc::new(AtomicBool::new(false));
    session::stop_on_ctrl_c(stop.clone());
    let bar = progress_bar(opts.progress, total as u64);
    let mut result = SweepResult {
        scenario: plan.name.clone(),
        file: plan.file.display().to_string(),
        axes: plan
            .axes
            .iter()
            .map(|a| AxisResult { path: a.path.to_string(), values: a.values.iter().map(axis::label).collect() })
            .collect(),
        repeat: plan.repeat,
        fault: plan.fault,
        grid: plan.points.len(),
        partitions: vec![opts.partition.unwrap_or(Partition { k: 1, n: 1 }).to_string()],
        complete: false,
        stopped: None,
        elapsed_s: 0.0,
        points: Vec::new(),
    };
    let mut pending: BTreeMap<usize, Vec<RunResult>> = BTreeMap::new();
    let (tx, rx) = mpsc::channel::<Msg>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(total.max(1)) {
            let tx = tx.clone();
            let (queue, stop) = (&queue, &stop);
            scope.spawn(move || worker(plan, opts, queue, stop, tx));
        }
        drop(tx);
        for msg in rx {
            match msg {
                Msg::Ran(index, run) => {
                    bar.inc(1);
                    let runs = pending.entry(index).or_default();
                    runs.push(run);
                    if runs.len() == plan.repeat as usize {
                        let mut runs = pending.remove(&index).unwrap_or_default();
                        runs.sort_by_key(|r| r.repeat);
                        let p = &plan.points[index];
                        let summary = Summary::of(&runs);
                        bar.set_message(format!("point {index} done: {}", summary.verdict()));
                        result.points.push(PointResult {
                            index,
                            coords: p.coords.clone(),
                            values: p.coords.iter().zip(&plan.axes).map(|(&c, a)| axis::label(&a.values[c])).collect(),
                            file: format!("points/{}", point_file(index)),
                            summary,
                            runs,
                        });
                        result.points.sort_by_key(|p| p.index);
                        result.elapsed_s = started.elapsed().as_secs_f64();
                        // Written as each point ends: a killed sweep keeps what it finished.
                        if let Err(e) = output::write_data(&opts.out, &result) {
                            tracing::warn!("cannot write the sweep files: {e}");
                        }
                    }
                }
                Msg::Stop(why) => {
                    stop.store(true, Ordering::SeqCst);
                    result.stopped.get_or_insert(why);
                }
            }
        }
    });
    bar.finish_and_clear();
    result.complete = result.points.len() == points.len();
    if !result.complete && result.stopped.is_none() && stop.load(Ordering::SeqCst) {
        result.stopped = Some(INTERRUPTED.into());
    }
    result.elapsed_s = started.elapsed().as_secs_f64();
    output::write(&opts.out, &result)?;
    Ok(result)
}

/// One thread's loop: its own Session (so its own cluster), taking runs
/// off the queue until it is empty or the sweep is stopped.
fn worker(
    plan: &Plan,
    opts: &Options,
    queue: &Mutex<VecDeque<(usize, u32)>>,
    stop: &Arc<AtomicBool>,
    tx: mpsc::Sender<Msg>,
) {
    let runs_dir = opts.out.join("runs");
    let session = Session::new().map(|s| {
        let s = s.reports_dir(&runs_dir).progress(false).stop_flag(stop.clone());
        match &opts.worker_exe {
            Some(exe) => s.worker_exe(exe),
            None => s,
        }
    });
    let mut session = match session {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Msg::Stop(format!("cannot start a session: {e}")));
            return;
        }
    };
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Some((index, repeat)) = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None) else { return };
        let p = &plan.points[index];
        let source = opts.out.join("points").join(point_file(index));
        // A panic in one run must not take the finished points with it.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.run(&p.scenario, Some(&source))));
        let msg = match ran {
            Ok(Ok(outcome)) => {
                let dir = outcome.run.dir.strip_prefix(&opts.out).unwrap_or(&outcome.run.dir);
                Msg::Ran(index, RunResult::judged(repeat, Some(dir.display().to_string()), &outcome, plan.fault))
            }
            Ok(Err(session::Error::Run(RunError::Interrupted))) => Msg::Stop(INTERRUPTED.into()),
            Ok(Err(e)) => Msg::Ran(index, RunResult::failed(repeat, e.to_string())),
            Err(_) => Msg::Stop(format!("the harness panicked running point {index} (run {repeat})")),
        };
        let last = matches!(msg, Msg::Stop(_));
        if tx.send(msg).is_err() || last {
            return;
        }
    }
}

/// What a worker thread tells the sweep.
enum Msg {
    Ran(usize, RunResult),
    /// The sweep cannot go on: Ctrl-C, or the harness itself failed.
    Stop(String),
}

const INTERRUPTED: &str = "interrupted (Ctrl-C)";

/// Where a sweep goes unless told: `reports/sweep-<run id>`, stamped and
/// made safe as a run folder is.
pub fn default_out(plan: &Plan) -> PathBuf {
    PathBuf::from("reports").join(format!("sweep-{}", crate::runner::run_id(&plan.name)))
}

fn point_file(index: usize) -> String {
    format!("{index:03}.toml")
}

fn progress_bar(on: bool, total: u64) -> indicatif::ProgressBar {
    if !on {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "sweep {bar:30} {pos}/{len} runs, {elapsed} so far, ~{eta} left  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_secs(1));
    bar
}
