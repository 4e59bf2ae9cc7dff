//! The `faultline` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use faultline::explore::{self, ExploreError};
use faultline::report;
use faultline::scenario::{self, Backend, Client, FaultKind};
use faultline::sweep::{self, Axis, Partition, SweepError};
use faultline::{Error, Session};

/// mimalloc: `faultline check` parses a ledger on several threads and
/// frees the entries on another; glibc's allocator made that 20% slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes: expectations held, expectations violated, the harness could
/// not judge. A judged run's code comes from its `Status`.
const PASS: u8 = 0;
const ERROR: u8 = 2;

#[derive(Parser)]
#[command(name = "faultline", version, about = "Fault-injection test harness for Kafka consumer delivery semantics")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenarios and check their expectations (exit 0 pass, 1 fail, 2 error).
    Run {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where run folders are written.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// No progress bars (they are off anyway when stderr is not a terminal).
        #[arg(long)]
        no_progress: bool,
        /// Where to write the JUnit report (default: junit.xml in the reports folder).
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Run on this backend whatever the files say: "mock" or "docker".
        #[arg(long, value_parser = parse_backend)]
        backend: Option<Backend>,
        /// Run every group (but those with a `command`) on this client:
        /// "rdkafka", "franz-go", "confluent-kafka-go" or "java".
        #[arg(long, value_parser = parse_client)]
        client: Option<Client>,
    },
    /// Run a scenario at every point of a grid of settings, several times
    /// each: a table, sweep.csv, sweep.json, plots and sweep.html (exit 0
    /// every run passed, 1 some failed, 2 some could not be judged or the
    /// sweep was stopped).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sweep {
        #[command(subcommand)]
        merge: Option<SweepCmd>,
        /// The scenario file.
        #[arg(required = true)]
        file: Option<PathBuf>,
        /// A field and its values, as `fault[0].duration=3s,7s,15s` (repeat
        /// for more axes; replaces the file's [sweep] axes).
        #[arg(long, value_name = "PATH=V1,V2,...", value_parser = Axis::parse_flag)]
        vary: Vec<Axis>,
        /// Runs per point (default: the file's [sweep] repeat, else 1).
        #[arg(long)]
        repeat: Option<u32>,
        /// The fault (1-based) whose time to detect and recover is reported.
        #[arg(long)]
        fault: Option<u32>,
        /// Runs at once (embedded mock only).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Run only every n-th point, from the k-th: `k/n` (join the parts
        /// with `faultline sweep merge`).
        #[arg(long, value_parser = |s: &str| s.parse::<Partition>())]
        partition: Option<Partition>,
        /// The sweep folder (default: reports/sweep-<time>-<scenario>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        no_progress: bool,
        #[arg(long, value_parser = parse_backend)]
        backend: Option<Backend>,
        #[arg(long, value_parser = parse_client)]
        client: Option<Client>,
    },
    /// Search the space of fault schedules in the file's [explore] table for
    /// one that breaks an expectation, and shrink it to the smallest that
    /// still does: minimal.toml (exit 1 found, 0 nothing found, 2 could not
    /// judge or stopped).
    Explore {
        /// The scenario file, with an [explore] table.
        file: PathBuf,
        /// Fault kinds to draw from, comma-separated (replaces explore.kinds).
        #[arg(long, value_delimiter = ',', value_parser = |s: &str| s.parse::<FaultKind>())]
        kinds: Vec<FaultKind>,
        /// At most this many faults per schedule.
        #[arg(long)]
        max_faults: Option<u32>,
        /// Schedules to try at most.
        #[arg(long)]
        cases: Option<u32>,
        /// Stop after this long (e.g. 20m), whatever --cases says.
        #[arg(long, value_parser = |s: &str| humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e}")))]
        budget: Option<std::time::Duration>,
        /// The seed: the same seed draws the same schedules.
        #[arg(long)]
        seed: Option<u64>,
        /// Runs at once (embedded mock only).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// The folder (default: reports/explore-<time>-<scenario>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        no_progress: bool,
        #[arg(long, value_parser = parse_backend)]
        backend: Option<Backend>,
        #[arg(long, value_parser = parse_client)]
        client: Option<Client>,
    },
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Re-check the ledger of a finished (or crashed) run, without a broker
    /// (exit 0 pass, 1 fail, 2 cannot judge).
    Check {
        run_dir: PathBuf,
        /// Print the outcome as JSON (what verdict.json holds) instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Put a worker program through a short scenario on the embedded mock
    /// and list every protocol violation (exit 0 none, 1 some, 2 could not run).
    WorkerCheck {
        /// Where the check's run folder is written.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// The cluster: the embedded mock (default), or Kafka in Docker for
        /// clients that cannot talk to the mock (java).
        #[arg(long, value_parser = parse_backend, default_value = "mock")]
        backend: Backend,
        /// The program and its arguments, after `--`.
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
    /// Print the JSON Schema of scenario files, for editors (`--worker`: of
    /// the worker protocol, docs/worker-protocol.md).
    Schema {
        #[arg(long)]
        worker: bool,
    },
    /// Remove containers, networks and worker processes left by runs whose
    /// harness is gone (after a crash or SIGKILL of faultline). Every run does
    /// this at start.
    Cleanup,
    /// Internal: a producer or consumer process started by `run`.
    #[command(hide = true)]
    Worker,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let worker = matches!(cli.command, Cmd::Worker);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if worker { "info" } else { "warn" })),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let code = match cli.command {
        Cmd::Worker => return ExitCode::from(faultline::workers::run_from_env() as u8),
        Cmd::Validate { files } => validate(&files),
        Cmd::Check { run_dir, json } => check(&run_dir, json),
        Cmd::Run { files, reports, no_progress, junit, backend, client } => {
            let junit = junit.unwrap_or_else(|| reports.join("junit.xml"));
            run(&files, reports, !no_progress, &junit, backend, client)
        }
        Cmd::Sweep { merge: Some(SweepCmd::Merge { dirs, out }), .. } => sweep_merge(&dirs, &out),
        Cmd::Sweep { merge: None, file, vary, repeat, fault, jobs, partition, out, no_progress, backend, client } => {
            let request = sweep::Request { vary, repeat, fault, overrides: scenario::Overrides { backend, client } };
            let file = file.unwrap_or_default();
            run_sweep(&file, &request, jobs, partition, out, !no_progress)
        }
        Cmd::Explore { file, kinds, max_faults, cases, budget, seed, jobs, out, no_progress, backend, client } => {
            let overrides = scenario::Overrides { backend, client };
            let request = explore::Request { kinds, max_faults, cases, budget, seed, overrides };
            run_explore(&file, &request, jobs, out, !no_progress)
        }
        Cmd::Cleanup => cleanup(),
        Cmd::Schema { worker } => schema(worker),
        Cmd::WorkerCheck { reports, backend, command } => worker_check(&command, &reports, backend),
    };
    ExitCode::from(code)
}

#[derive(Subcommand)]
enum SweepCmd {
    /// Join the folders of a partitioned sweep into one.
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

/// Scenario errors render with miette (the file, the line, a pointer).
fn print_error(e: Error) {
    match e {
        Error::Scenario(e) => eprintln!("{:?}", miette::Report::new(*e)),
        other => eprintln!("error: {other}"),
    }
}

fn validate(files: &[PathBuf]) -> u8 {
    let mut code = PASS;
    for f in files {
        match scenario::load(f) {
            Ok(s) if s.sweep.is_some() => match sweep::plan(f, &sweep::Request::default()) {
                Ok(plan) => println!("ok  {} ({}: a sweep of {} points)", f.display(), s.name, plan.points.len()),
                Err(e) => {
                    print_sweep_error(e);
                    code = ERROR;
                }
            },
            Ok(s) => println!(
                "ok  {} ({}: {} producer(s), {} group(s), {} fault(s))",
                f.display(),
                s.name,
                s.producers.len(),
                s.groups.len(),
                s.faults.len()
            ),
            Err(e) => {
                print_error(Error::from(e));
                code = ERROR;
            }
        }
    }
    code
}

fn print_sweep_error(e: SweepError) {
    match e {
        SweepError::Scenario(e) => eprintln!("{:?}", miette::Report::new(*e)),
        SweepError::Point { source, .. } => eprintln!("{:?}", miette::Report::new(*source)),
        SweepError::Session(e) => print_error(e),
        other => eprintln!("error: {other}"),
    }
}

fn run_sweep(
    file: &std::path::Path,
    request: &sweep::Request,
    jobs: usize,
    partition: Option<Partition>,
    out: Option<PathBuf>,
    progress: bool,
) -> u8 {
    let plan = match sweep::plan(file, request) {
        Ok(p) => p,
        Err(e) => {
            print_sweep_error(e);
            return ERROR;
        }
    };
    let out = out.unwrap_or_else(|| sweep::default_out(&plan));
    if out.join("sweep.json").exists() {
        eprintln!("error: {} already holds a sweep; choose another --out", out.display());
        return ERROR;
    }
    let opts = sweep::Options {
        out: out.clone(),
        jobs,
        partition,
        progress: progress && std::io::stderr().is_terminal(),
        worker_exe: None,
    };
    match sweep::run(&plan, &opts) {
        Ok(result) => {
            print!("{}", sweep::render(&result));
            println!("  folder     {}", out.display());
            println!("  page       {}", out.join("sweep.html").display());
            result.exit_code()
        }
        Err(e) => {
            print_sweep_error(e);
            ERROR
        }
    }
}

fn sweep_merge(dirs: &[PathBuf], out: &std::path::Path) -> u8 {
    match sweep::merge(dirs, out) {
        Ok(result) => {
            print!("{}", sweep::render(&result));
            println!("  page       {}", out.join("sweep.html").display());
            result.exit_code()
        }
        Err(e) => {
            print_sweep_error(e);
            ERROR
        }
    }
}

fn check(dir: &std::path::Path, json: bool) -> u8 {
    match faultline::recheck(dir) {
        Ok(outcome) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome).unwrap_or_default());
            } else {
                print!("{}", report::render(&outcome, std::io::stdout().is_terminal()));
            }
            outcome.status.exit_code()
        }
        Err(e) => {
            print_error(e);
            ERROR
        }
    }
}

fn print_explore_error(e: ExploreError) {
    match e {
        ExploreError::Scenario(e) => eprintln!("{:?}", miette::Report::new(*e)),
        ExploreError::Kind { kind, source } => {
            eprintln!("error: explore.kinds: the scenario cannot take a {kind} fault:");
            eprintln!("{:?}", miette::Report::new(*source));
        }
        e => eprintln!("error: {e}"),
    }
}

fn run_explore(
    file: &std::path::Path,
    request: &explore::Request,
    jobs: usize,
    out: Option<PathBuf>,
    progress: bool,
) -> u8 {
    let plan = match explore::plan(file, request) {
        Ok(plan) => plan,
        Err(e) => {
            print_explore_error(e);
            return ERROR;
        }
    };
    let out = out.unwrap_or_else(|| explore::default_out(&plan));
    if out.join("explore.json").exists() {
        eprintln!("error: {} already holds an exploration; choose another --out", out.display());
        return ERROR;
    }
    let opts = explore::Options {
        out: out.clone(),
        jobs,
        progress: progress && std::io::stderr().is_terminal(),
        worker_exe: None,
    };
    match explore::run(&plan, &opts) {
        Ok(result) => {
            print!("{}", explore::render(&result, &out));
            result.code()
        }
        Err(e) => {
            print_explore_error(e);
            ERROR
        }
    }
}

fn schema(worker: bool) -> u8 {
    let schema = if worker { faultline::workers::protocol_schema() } else { scenario::json_schema() };
    println!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
    PASS
}

fn worker_check(command: &[String], reports: &std::path::Path, backend: Backend) -> u8 {
    match faultline::worker_check::check(command, reports, backend) {
        Ok(report) => {
            print!("{}", report.render(command));
            if report.problems.is_empty() {
                PASS
            } else {
                1
            }
        }
        Err(e) => {
            print_error(e);
            ERROR
        }
    }
}

fn cleanup() -> u8 {
    let workers = faultline::workers::reap_orphans();
    if !workers.is_empty() {
        println!("killed {} worker process(es) of a faultline that is gone: {workers:?}", workers.len());
    }
    let result = tokio::runtime::Runtime::new()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(faultline::cluster::cleanup_all()).map_err(|e| e.to_string()));
    match result {
        Ok(report) => {
            println!("{report}");
            PASS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ERROR
        }
    }
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    [Backend::Mock, Backend::Docker]
        .into_iter()
        .find(|b| b.name() == s)
        .ok_or_else(|| format!("unknown backend `{s}`; use mock or docker"))
}

fn parse_client(s: &str) -> Result<Client, String> {
    [Client::Rdkafka, Client::FranzGo, Client::ConfluentKafkaGo, Client::Java]
        .into_iter()
        .find(|c| c.name() == s)
        .ok_or_else(|| format!("unknown client `{s}`; use rdkafka, franz-go, confluent-kafka-go or java"))
}

fn run(
    files: &[PathBuf],
    reports: PathBuf,
    progress: bool,
    junit: &std::path::Path,
    backend: Option<Backend>,
    client: Option<Client>,
) -> u8 {
    let session = match Session::new() {
        Ok(s) => {
            s.reports_dir(reports).progress(progress && std::io::stderr().is_terminal()).backend(backend).client(client)
        }
        Err(e) => {
            print_error(e);
            return ERROR;
        }
    };
    // Validate everything first: a typo in the fifth file should not cost
    // the time of running the first four.
    let mut scenarios = Vec::new();
    for f in files {
        match session.load(f) {
            Ok(s) => scenarios.push((f, s)),
            Err(e) => {
                print_error(e);
                return ERROR;
            }
        }
    }
    let mut session = session;
    let color = std::io::stdout().is_terminal();
    let mut code = PASS;
    let mut results: Vec<(String, Result<faultline::Outcome, String>)> = Vec::new();
    for (path, s) in &scenarios {
        match session.run(s, Some(path)) {
            Ok(outcome) => {
                print!("{}", report::render(&outcome, color));
                code = code.max(outcome.status.exit_code());
                results.push((s.name.clone(), Ok(outcome)));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                code = ERROR;
                let interrupted = matches!(e, Error::Run(faultline::runner::RunError::Interrupted));
                results.push((s.name.clone(), Err(e.to_string())));
                if interrupted {
                    break;
                }
            }
        }
    }
    drop(session);
    let rows: Vec<report::Row<'_>> =
        results.iter().map(|(name, r)| (name.as_str(), r.as_ref().map_err(String::as_str))).collect();
    if rows.len() > 1 {
        print!("{}", report::table(&rows));
    }
    if let Err(e) = report::junit::write(junit, &rows) {
        eprintln!("error: cannot write {}: {e}", junit.display());
        code = ERROR;
    }
    code
}
