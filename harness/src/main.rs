//! The `faultline` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use faultline::checker::Class;
use faultline::report::{self, Outcome};
use faultline::runner::{self, RunOptions};
use faultline::scenario;

/// mimalloc: `faultline check` parses a ledger on several threads and
/// frees the entries on another; glibc's allocator made that 20% slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes that mean something: expectations held, expectations violated,
/// the harness itself could not judge.
const PASS: u8 = 0;
const FAIL: u8 = 1;
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
        backend: Option<scenario::Backend>,
    },
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Re-check the ledger of a finished (or crashed) run, without a broker.
    Check {
        run_dir: PathBuf,
        /// Print the verdict as JSON instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Remove containers and networks left by runs whose harness is gone
    /// (after a crash or SIGKILL of faultline). Every run does this at start.
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
        Cmd::Run { files, reports, no_progress, junit, backend } => {
            let junit = junit.unwrap_or_else(|| reports.join("junit.xml"));
            run(&files, reports, !no_progress, &junit, backend)
        }
        Cmd::Cleanup => cleanup(),
    };
    ExitCode::from(code)
}

fn print_scenario_error(e: scenario::ScenarioError) {
    eprintln!("{:?}", miette::Report::new(e));
}

fn validate(files: &[PathBuf]) -> u8 {
    let mut code = PASS;
    for f in files {
        match scenario::load(f) {
            Ok(s) => println!(
                "ok  {} ({}: {} producer(s), {} group(s), {} fault(s))",
                f.display(),
                s.name,
                s.producers.len(),
                s.groups.len(),
                s.faults.len()
            ),
            Err(e) => {
                print_scenario_error(e);
                code = ERROR;
            }
        }
    }
    code
}

fn check(dir: &std::path::Path, json: bool) -> u8 {
    let verdict = match runner::check_dir(dir) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ERROR;
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&verdict).unwrap_or_default());
    }
    // With the scenario beside the ledger, judge its expectations too;
    // without it, the default ones.
    let (scenario, cluster) = match scenario::load(&dir.join("scenario.toml")) {
        Ok(s) => (s, "re-checked from the ledger"),
        Err(_) => {
            let mut s: scenario::Scenario = toml::from_str("").expect("empty scenario parses");
            s.name = dir_name(dir);
            (s, "re-checked from the ledger (no scenario.toml: default expectations)")
        }
    };
    let outcome =
        Outcome::new(&scenario, &dir_name(dir), dir, cluster.into(), verdict, Default::default(), Default::default());
    if !json {
        print!("{}", report::render(&outcome, std::io::stdout().is_terminal()));
    }
    if outcome.passed {
        PASS
    } else {
        FAIL
    }
}

fn cleanup() -> u8 {
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

fn dir_name(dir: &std::path::Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn parse_backend(s: &str) -> Result<scenario::Backend, String> {
    match s {
        "mock" => Ok(scenario::Backend::Mock),
        "docker" => Ok(scenario::Backend::Docker),
        other => Err(format!("unknown backend `{other}`; use mock or docker")),
    }
}

fn run(
    files: &[PathBuf],
    reports: PathBuf,
    progress: bool,
    junit: &std::path::Path,
    backend: Option<scenario::Backend>,
) -> u8 {
    // Validate everything first: a typo in the fifth file should not cost
    // the time of running the first four.
    let mut scenarios = Vec::new();
    for f in files {
        match scenario::load(f) {
            Ok(mut s) => {
                if let Some(b) = backend {
                    s.cluster.backend = b;
                }
                scenarios.push((f.clone(), s))
            }
            Err(e) => {
                print_scenario_error(e);
                return ERROR;
            }
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ERROR;
        }
    };
    let opts = RunOptions { reports_dir: reports, progress: progress && std::io::stderr().is_terminal() };
    let color = std::io::stdout().is_terminal();
    let mut code = PASS;
    let mut results: Vec<Result<Outcome, (String, String)>> = Vec::new();
    let mut clusters = runner::Clusters::default();
    for (path, s) in &scenarios {
        match runtime.block_on(runner::run(s, Some(path), &opts, &mut clusters)) {
            Ok(outcome) => {
                print!("{}", report::render(&outcome, color));
                if !outcome.passed {
                    code = code.max(FAIL);
                }
                results.push(Ok(outcome));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                code = ERROR;
                results.push(Err((s.name.clone(), e.to_string())));
                if matches!(e, runner::RunError::Interrupted) {
                    break;
                }
            }
        }
    }
    runtime.block_on(clusters.shutdown());
    if results.len() > 1 {
        print_table(&results);
    }
    let junit_results: Vec<report::junit::Result> = results
        .iter()
        .map(|r| match r {
            Ok(o) => report::junit::Result::Judged(o),
            Err((scenario, message)) => {
                report::junit::Result::Error { scenario: scenario.clone(), message: message.clone() }
            }
        })
        .collect();
    if let Err(e) = report::junit::write(junit, &junit_results) {
        eprintln!("error: cannot write {}: {e}", junit.display());
        code = ERROR;
    }
    code
}

/// One line per scenario after a multi-scenario run.
fn print_table(results: &[Result<Outcome, (String, String)>]) {
    println!("\n{:<32} {:>6} {:>8} {:>8} {:>11}  verdict", "scenario", "time", "lost", "redeliv", "anomalies");
    for r in results {
        match r {
            Ok(o) => {
                let lost = report::actual("lost", &o.verdict).unwrap_or(0);
                let redelivered = report::actual("redelivered", &o.verdict).unwrap_or(0);
                // Everything but the columns shown and what at-least-once allows.
                let anomalies: u64 = o
                    .verdict
                    .counts
                    .iter()
                    .filter(|(c, _)| {
                        !matches!(c, Class::LostWrite | Class::LostDelivery | Class::Redelivery | Class::DuplicateWrite)
                    })
                    .map(|(_, n)| n)
                    .sum();
                let verdict = if o.passed { "PASS" } else { "FAIL" };
                println!(
                    "{:<32} {:>5.0}s {:>8} {:>8} {:>11}  {verdict}",
                    o.scenario,
                    o.elapsed.as_secs_f64(),
                    lost,
                    redelivered,
                    anomalies
                );
            }
            Err((name, msg)) => println!("{name:<32} {:>6} {:>8} {:>8} {:>11}  ERROR: {msg}", "-", "-", "-", "-"),
        }
    }
}
