//! The library's front door: run scenario files and judge them, exactly as
//! `faultline run` does, from Rust code: a `cargo test`, a sweep, a search.
//!
//! ```no_run
//! let outcome = faultline::run_scenario("scenarios/quickstart.toml").expect("the harness could judge");
//! assert!(outcome.passed, "{}", faultline::report::render(&outcome, false));
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::checker;
use crate::judge::Outcome;
use crate::ledger::RunRecord;
use crate::ledger::{self, ReadError};
use crate::report;
use crate::runner::{self, Clusters, Limits, RunError, RunOptions};
use crate::scenario::{self, Backend, Client, Overrides, Scenario, ScenarioError};
use crate::workers;

/// Why a scenario could not be judged (the CLI's exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Scenario(Box<ScenarioError>),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot check the ledger: {0}")]
    Ledger(#[from] ReadError),
    #[error("cannot write the report in {}: {source}", dir.display())]
    Report { dir: PathBuf, source: std::io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Environment(String),
}

impl From<ScenarioError> for Error {
    fn from(e: ScenarioError) -> Self {
        Error::Scenario(Box::new(e))
    }
}

/// Runs scenarios one after another. Consecutive scenarios with the same
/// cluster shape share one cluster; it is shut down when the session is
/// dropped.
pub struct Session {
    /// Taken at drop, to shut down without waiting on a stuck blocking task.
    runtime: Option<tokio::runtime::Runtime>,
    clusters: Clusters,
    opts: RunOptions,
    overrides: Overrides,
    write_reports: bool,
}

impl Session {
    /// Run folders go to `reports/`, with summary.txt, verdict.json and
    /// timeline.html; no progress bars.
    pub fn new() -> Result<Session, Error> {
        Ok(Session {
            runtime: Some(tokio::runtime::Runtime::new().map_err(Error::Runtime)?),
            clusters: Clusters::default(),
            opts: RunOptions {
                reports_dir: PathBuf::from("reports"),
                progress: false,
                worker_exe: workers::default_exe(),
                stop: None,
                limits: Limits::from_env().map_err(Error::Environment)?,
            },
            overrides: Overrides::default(),
            write_reports: true,
        })
    }

    /// Where run folders are made.
    pub fn reports_dir(mut self, dir: impl Into<PathBuf>) -> Session {
        self.opts.reports_dir = dir.into();
        self
    }

    /// Progress bars on stderr.
    pub fn progress(mut self, on: bool) -> Session {
        self.opts.progress = on;
        self
    }

    /// The faultline binary that runs the workers (default: see
    /// [`workers::default_exe`]).
    pub fn worker_exe(mut self, exe: impl Into<PathBuf>) -> Session {
        self.opts.worker_exe = exe.into();
        self
    }

    /// A flag that, once set, ends the current run as interrupted (as
    /// Ctrl-C does) and fails the next ones.
    pub fn stop_flag(mut self, stop: Arc<AtomicBool>) -> Session {
        self.opts.stop = Some(stop);
        self
    }

    /// The limits of the phases no scenario setting bounds (default: from
    /// `FAULTLINE_GRACE`, else a grace of 8 minutes).
    pub fn limits(mut self, limits: Limits) -> Session {
        self.opts.limits = limits;
        self
    }

    /// Runs every scenario on this backend, whatever its file says.
    pub fn backend(mut self, backend: Option<Backend>) -> Session {
        self.overrides.backend = backend;
        self
    }

    /// Runs every group (but those with a `command`) on this client.
    pub fn client(mut self, client: Option<Client>) -> Session {
        self.overrides.client = client;
        self
    }

    /// Off: the run folder keeps only the ledger, the scenario and the logs.
    pub fn write_reports(mut self, on: bool) -> Session {
        self.write_reports = on;
        self
    }

    /// Loads and validates a scenario file, with the session's overrides.
    pub fn load(&self, path: &Path) -> Result<Scenario, Error> {
        Ok(scenario::load_with(path, self.overrides)?)
    }

    /// Loads, runs and judges a scenario file.
    pub fn run_file(&mut self, path: impl AsRef<Path>) -> Result<Outcome, Error> {
        let s = self.load(path.as_ref())?;
        self.run(&s, Some(path.as_ref()))
    }

    /// Runs a loaded scenario and judges it; `source` is copied into the run
    /// folder so that `faultline check` can judge it again.
    pub fn run(&mut self, s: &Scenario, source: Option<&Path>) -> Result<Outcome, Error> {
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        let record = runtime.block_on(runner::run(s, source, &self.opts, &mut self.clusters))?;
        let verdict = checker::check_file(&record.dir.join(ledger::FILE_NAME))?;
        let outcome = Outcome::new(&s.name, &s.description, &s.expect, record, verdict);
        if self.write_reports {
            report::write(&outcome).map_err(|source| Error::Report { dir: outcome.run.dir.clone(), source })?;
        }
        Ok(outcome)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            let limit = self.opts.limits.teardown;
            if runtime.block_on(async { tokio::time::timeout(limit, self.clusters.shutdown()).await }).is_err() {
                tracing::error!(
                    "the cluster did not shut down within {limit:?}; `faultline cleanup` removes what is left"
                );
            }
            // A blocking task past its limit (an audit read) is not waited for.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// Sets `stop` on Ctrl-C, for [`Session::stop_flag`]: the run in progress
/// ends as interrupted, even if the signal came before it listened.
pub fn stop_on_ctrl_c(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        if rt.block_on(tokio::signal::ctrl_c()).is_ok() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
}

/// Runs and judges one scenario file, as `faultline run FILE` does
/// (run folder under `reports/`).
pub fn run_scenario(path: impl AsRef<Path>) -> Result<Outcome, Error> {
    Session::new()?.run_file(path)
}

/// Judges a run folder again from its ledger, no broker needed: with the
/// expectations of its scenario.toml, or the implied ones without it.
pub fn recheck(dir: &Path) -> Result<Outcome, Error> {
    let verdict = checker::check_file(&dir.join(ledger::FILE_NAME))?;
    let scenario_file = dir.join("scenario.toml");
    let run_id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = runner::scenario_of(&run_id).unwrap_or(&run_id).to_string();
    let (scenario, cluster) = if scenario_file.exists() {
        (Some(scenario::load(&scenario_file)?), "re-checked from the ledger")
    } else {
        (None, "re-checked from the ledger (no scenario.toml: implied expectations only)")
    };
    let run = RunRecord {
        run_id: run_id.clone(),
        dir: dir.to_owned(),
        cluster: cluster.into(),
        elapsed: Duration::from_millis(verdict.timeline.end),
        drain: Duration::from_millis(verdict.timeline.between("drain", "stop").unwrap_or(0)),
    };
    // The copy is named scenario.toml: a file without `name` takes it from the run id.
    Ok(match scenario {
        Some(s) if s.name == "scenario" => Outcome::new(&name, &s.description, &s.expect, run, verdict),
        Some(s) => Outcome::new(&s.name, &s.description, &s.expect, run, verdict),
        None => Outcome::new(&name, "", &Default::default(), run, verdict),
    })
}
