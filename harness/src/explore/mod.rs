//! `faultline explore`: fault schedules drawn from a space (`[explore]`),
//! each run and judged as `faultline run` judges it, until one breaks an
//! expectation; that one is shrunk to the smallest schedule that still
//! breaks it, written as `minimal.toml`, and re-run for its reproduction
//! rate. Finding nothing within the budget is said as such, never as a proof.

mod file;
mod output;
mod pool;
mod search;
mod space;

pub use output::render;
pub use search::{Judged, Limits, Stage};
pub use space::{describe, Planned, Schedule, Space};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::test_runner::{RngAlgorithm, TestRng};
use serde::Serialize;
use toml_edit::DocumentMut;

use crate::judge::{Check, Outcome, Status};
use crate::scenario::{self, Backend, ExploreSpec, FaultKind, FaultSpec, Overrides, ScenarioError};
use crate::session;
use pool::{Pool, Ran};

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error(transparent)]
    Scenario(#[from] Box<ScenarioError>),
    #[error("{0}")]
    Spec(String),
    /// A fault kind the scenario does not take, tried on its own.
    #[error("explore.kinds: {kind}: {source}")]
    Kind { kind: &'static str, source: Box<ScenarioError> },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl From<ScenarioError> for ExploreError {
    fn from(e: ScenarioError) -> Self {
        ExploreError::Scenario(Box::new(e))
    }
}

/// The command line's settings; each replaces the file's `[explore]` field.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub kinds: Vec<FaultKind>,
    pub max_faults: Option<u32>,
    pub cases: Option<u32>,
    pub budget: Option<Duration>,
    pub seed: Option<u64>,
    pub overrides: Overrides,
}

/// A validated exploration.
#[derive(Debug)]
pub struct Plan {
    pub file: PathBuf,
    pub name: String,
    pub spec: ExploreSpec,
    pub space: Space,
    pub seed: u64,
    pub backend: Backend,
    /// The command line's bounds, as given (`--kinds ... --cases 4`): with
    /// the seed, what repeats the search.
    pub flags: Vec<String>,
    /// The file without `[explore]`, `[sweep]` and its faults, overrides
    /// written in: what every case's file is made from.
    base: DocumentMut,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The folder: minimal.toml, explore.json, cases/ (a file per schedule
    /// run) and runs/ (their run folders).
    pub out: PathBuf,
    /// Runs at once; more than 1 only on the mock.
    pub jobs: usize,
    pub progress: bool,
    pub worker_exe: Option<PathBuf>,
}

/// Reads the file and the request into a plan; every fault kind is tried
/// on its own against the scenario, so a kind it cannot take is refused
/// before anything runs.
pub fn plan(file: &Path, req: &Request) -> Result<Plan, ExploreError> {
    let loaded = scenario::load_with(file, req.overrides)?;
    if loaded.explore.is_none() {
        return Err(ExploreError::Spec(format!(
            "{}: no [explore] table: give the fault kinds to draw from and when faults may start \
             (kinds = [\"crash-consumer\"], latest = \"20s\"; see scenarios/explore/)",
            file.display()
        )));
    }
    // The flags are written into [explore] and validated with it, so that a
    // value out of range is refused as in the file, naming the flag.
    let text = std::fs::read_to_string(file).map_err(|source| ExploreError::Io { path: file.to_owned(), source })?;
    let mut doc: DocumentMut = text.parse().map_err(|e| ExploreError::Spec(format!("{}: {e}", file.display())))?;
    let mut flags = Vec::new();
    if !req.kinds.is_empty() {
        let kinds: toml_edit::Array = req.kinds.iter().map(|k| k.name()).collect();
        doc["explore"]["kinds"] = toml_edit::value(kinds);
        flags.push(format!("--kinds {}", req.kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")));
    }
    if let Some(n) = req.max_faults {
        doc["explore"]["max_faults"] = toml_edit::value(i64::from(n));
        flags.push(format!("--max-faults {n}"));
    }
    if let Some(n) = req.cases {
        doc["explore"]["cases"] = toml_edit::value(i64::from(n));
        flags.push(format!("--cases {n}"));
    }
    if let Some(b) = req.budget {
        let b = humantime::format_duration(b).to_string();
        doc["explore"]["budget"] = toml_edit::value(b.as_str());
        flags.push(format!("--budget {b}"));
    }
    let s = if flags.is_empty() {
        loaded
    } else {
        let shown = PathBuf::from(format!("{} with {}", file.display(), flags.join(" ")));
        scenario::parse_with(&shown, &doc.to_string(), req.overrides)?
    };
    let Some(spec) = s.explore.clone() else { unreachable!("checked above") };
    let space = Space::new(&s, &spec);
    let base = crate::sweep::document(file, &s, req.overrides).map_err(ExploreError::Spec)?;
    for &kind in &space.kinds {
        let faults: Vec<FaultSpec> = space.sample(kind).iter().map(|p| space.fault(p)).collect();
        let text = file::case_text(&base, &s.name, &[], &faults);
        let shown = PathBuf::from(format!("{} with one {}", file.display(), kind.name()));
        scenario::parse(&shown, &text).map_err(|e| ExploreError::Kind { kind: kind.name(), source: Box::new(e) })?;
    }
    if let Some(b) = req.overrides.backend {
        flags.push(format!("--backend {}", b.name()));
    }
    if let Some(c) = req.overrides.client {
        flags.push(format!("--client {}", c.name()));
    }
    // Drawn seeds stay below 2^53: they survive JSON and a TOML integer.
    let seed = req.seed.or(spec.seed).unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)) & ((1 << 53) - 1)
    });
    Ok(Plan { file: file.to_owned(), name: s.name.clone(), spec, space, seed, backend: s.cluster.backend, flags, base })
}

impl Plan {
    /// The arguments of `faultline explore` that draw the same schedules.
    pub fn repeat(&self) -> String {
        let mut args = vec![self.file.display().to_string()];
        args.extend(self.flags.iter().cloned());
        args.push(format!("--seed {}", self.seed));
        args.join(" ")
    }
}

/// What an exploration did and found (explore.json).
#[derive(Debug, Clone, Serialize)]
pub struct ExploreResult {
    pub scenario: String,
    pub file: String,
    pub seed: u64,
    /// `faultline explore` arguments that draw the same schedules.
    pub repeat: String,
    pub cases: Vec<CaseResult>,
    /// Faults tried in the search, per kind.
    pub covered: BTreeMap<String, u64>,
    pub found: Option<FoundResult>,
    /// Why it ended before its cases or budget did.
    pub stopped: Option<String>,
    /// Runs in all: search, shrinking, reproduction.
    pub runs: u64,
    pub search_s: f64,
    pub elapsed_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub file: String,
    pub schedule: String,
    pub faults: usize,
    #[serde(flatten)]
    pub judged: Judged,
}

#[derive(Debug, Clone, Serialize)]
pub struct FoundResult {
    /// 1-based, as the summary says it.
    pub case: usize,
    pub original: String,
    pub broke: Vec<String>,
    /// Each accepted smaller schedule.
    pub steps: Vec<String>,
    pub candidates: u32,
    pub confirm: u32,
    pub minimal: String,
    pub minimal_faults: usize,
    pub minimal_broke: Vec<String>,
    pub reproduced: u32,
    pub runs: u32,
    /// minimal.toml, in the folder.
    pub file: String,
}

impl ExploreResult {
    /// 1: a schedule broke an expectation; 0: none did and cases were
    /// judged; 2: nothing could be judged, or the search was stopped.
    pub fn code(&self) -> u8 {
        let judged = self.cases.iter().any(|c| !matches!(c.judged, Judged::Unjudged { .. }));
        match (&self.found, &self.stopped) {
            (Some(_), _) => 1,
            (None, Some(_)) => 2,
            (None, None) if judged => 0,
            (None, None) => 2,
        }
    }
}

const INTERRUPTED: &str = "interrupted (Ctrl-C)";

/// Where an exploration goes unless told: `reports/explore-<run id>`.
pub fn default_out(plan: &Plan) -> PathBuf {
    PathBuf::from("reports").join(format!("explore-{}", crate::runner::run_id(&plan.name)))
}

/// Searches, shrinks, reproduces; writes the folder (also when stopped).
pub fn run(plan: &Plan, opts: &Options) -> Result<ExploreResult, ExploreError> {
    let started = Instant::now();
    if opts.jobs > 1 && plan.backend != Backend::Mock {
        return Err(ExploreError::Spec(format!(
            "--jobs {}: runs at once need the embedded mock (each has its own); on Docker the cases share one cluster",
            opts.jobs
        )));
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ExploreError::Io { path, source }
    };
    let cases_dir = opts.out.join("cases");
    std::fs::create_dir_all(&cases_dir).map_err(io(&cases_dir))?;
    let stop = Arc::new(AtomicBool::new(false));
    session::stop_on_ctrl_c(stop.clone());
    let pool = Pool::new(opts.jobs, opts.out.join("runs"), opts.worker_exe.clone(), stop);
    let bar = output::bar(opts.progress, u64::from(plan.spec.cases));
    let limits = Limits {
        cases: plan.spec.cases,
        deadline: plan.spec.budget.map(|b| started + b),
        confirm: plan.spec.confirm,
        reproduce: plan.spec.reproduce,
        max_shrinks: plan.spec.max_shrinks,
        jobs: opts.jobs.max(1),
    };
    let (mut runs, mut search_time) = (0u64, Duration::ZERO);
    let mut files: Vec<String> = Vec::new();
    let source = plan.file.display().to_string();
    let mut trial = |stage: Stage, values: &[Schedule]| -> Result<Vec<Judged>, String> {
        let t0 = Instant::now();
        let mut batch = Vec::new();
        for (i, schedule) in values.iter().enumerate() {
            let stem = match stage {
                Stage::Search { first } => format!("case-{:03}", first + i + 1),
                Stage::Shrink { candidate, .. } => format!("shrink-{candidate:03}"),
                Stage::Reproduce { .. } => "minimal".to_string(),
            };
            let faults: Vec<FaultSpec> = schedule.iter().map(|p| plan.space.fault(p)).collect();
            let header = [
                format!("faultline explore {source}, seed {}: {stem}", plan.seed),
                format!("schedule: {}", describe(schedule)),
            ];
            let text = file::case_text(&plan.base, &format!("{}-{stem}", plan.name), &header, &faults);
            let path = cases_dir.join(format!("{stem}.toml"));
            std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
            let scenario = scenario::parse(&path, &text)
                .map_err(|e| format!("a drawn schedule was refused (a bug in faultline explore): {e}"))?;
            if matches!(stage, Stage::Search { .. }) {
                files.push(format!("cases/{stem}.toml"));
            }
            batch.push((scenario, path));
        }
        bar.set_message(match stage {
            Stage::Search { first } => format!("case {}", first + 1),
            Stage::Shrink { candidate, .. } => format!("shrinking: candidate {candidate}"),
            Stage::Reproduce { first } => format!("reproducing: run {}", first + 1),
        });
        let ran = pool.run(batch);
        runs += ran.len() as u64;
        if let Stage::Search { first } = stage {
            search_time += t0.elapsed();
            bar.set_position((first + values.len()) as u64);
        }
        ran.into_iter()
            .map(|r| match r {
                Ran::Judged(outcome) => Ok(judged(&outcome)),
                Ran::Failed(why) => Err(why),
                Ran::Interrupted => Err(INTERRUPTED.to_string()),
            })
            .collect()
    };
    let searched = search::search(&plan.space.strategy(), rng(plan.seed), &limits, &mut trial);
    drop(pool);
    bar.finish_and_clear();

    let mut covered: BTreeMap<String, u64> = BTreeMap::new();
    for (schedule, _) in &searched.cases {
        for p in schedule {
            *covered.entry(p.kind.name().to_string()).or_default() += 1;
        }
    }
    let cases = searched
        .cases
        .iter()
        .zip(files)
        .map(|((schedule, judged), file)| CaseResult {
            file,
            schedule: describe(schedule),
            faults: schedule.len(),
            judged: judged.clone(),
        })
        .collect();
    let found = searched.found.as_ref().map(|f| FoundResult {
        case: f.case + 1,
        original: describe(&f.original),
        broke: f.broke.clone(),
        steps: f.steps.iter().map(|s| describe(s)).collect(),
        candidates: f.candidates,
        confirm: limits.confirm,
        minimal: describe(&f.minimal),
        minimal_faults: f.minimal.len(),
        minimal_broke: f.minimal_broke.clone(),
        reproduced: f.reproduced,
        runs: f.runs,
        file: "minimal.toml".into(),
    });
    let result = ExploreResult {
        scenario: plan.name.clone(),
        file: source,
        seed: plan.seed,
        repeat: plan.repeat(),
        cases,
        covered,
        found,
        stopped: searched.stopped.clone(),
        runs,
        search_s: search_time.as_secs_f64(),
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    if let (Some(f), Some(found)) = (&searched.found, &result.found) {
        let faults: Vec<FaultSpec> = f.minimal.iter().map(|p| plan.space.fault(p)).collect();
        let text =
            file::case_text(&plan.base, &format!("{}-minimal", plan.name), &output::header(plan, found), &faults);
        let path = opts.out.join("minimal.toml");
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    let path = opts.out.join("explore.json");
    let json = serde_json::to_string_pretty(&result).expect("the result serializes");
    std::fs::write(&path, json).map_err(io(&path))?;
    Ok(result)
}

/// The search's generator, from the seed alone.
fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// A run's outcome as the search needs it.
fn judged(o: &Outcome) -> Judged {
    match o.status {
        Status::Pass => Judged::Held,
        Status::CannotJudge => Judged::Unjudged { why: o.unjudged.join("; ") },
        Status::Fail => {
            let broken: Vec<_> = o.expectations.iter().filter(|j| j.check == Check::Violated).collect();
            Judged::Broke {
                keys: broken.iter().map(|j| j.key.to_string()).collect(),
                said: broken.iter().map(|j| format!("{} {} (got {})", j.key, j.expected, j.got())).collect(),
            }
        }
    }
}
