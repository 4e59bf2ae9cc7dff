//! What the end-to-end tests share: run a scenario through the `faultline`
//! binary exactly as a user does, and read back what the run wrote.

#![allow(dead_code)] // each test binary uses its own part

pub mod sweep;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

pub struct Run {
    /// The run folder (gone with the test's temporary reports folder).
    pub dir: PathBuf,
    pub code: i32,
    pub verdict: Value,
    pub ledger: Vec<Value>,
    /// Keeps the run folder of a single run alive as long as the Run.
    _reports: Option<tempfile::TempDir>,
}

/// Runs one scenario; returns the exit code and the verdict.json.
pub fn run(scenario: &str) -> (i32, Value) {
    let r = run_full(scenario);
    (r.code, r.verdict)
}

pub fn run_full(scenario: &str) -> Run {
    run_with(scenario, &[])
}

/// Runs one scenario with extra `faultline run` arguments.
pub fn run_with(scenario: &str, extra: &[&str]) -> Run {
    let reports = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--no-progress", "--reports"])
        .arg(reports.path())
        .args(extra)
        .arg(repo().join(scenario))
        .output()
        .expect("faultline runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let run_dir = std::fs::read_dir(reports.path())
        .expect("reports dir")
        .filter_map(Result::ok)
        .find(|e| e.path().join("verdict.json").exists())
        .unwrap_or_else(|| panic!("{scenario}: no verdict written\nstdout:\n{stdout}\nstderr:\n{stderr}"))
        .path();
    println!("{stdout}");
    if !out.status.success() {
        keep(&run_dir);
    }
    Run { _reports: Some(reports), ..read_run(&run_dir, out.status.code().unwrap_or(-1)) }
}

/// Runs one scenario through the library, as a Rust user's own test does
/// (`faultline::Session`), on `backend` whatever the file says. The
/// verdict.json it wrote is the outcome it returned.
pub fn run_lib(scenario: &str, backend: Option<faultline::scenario::Backend>) -> Run {
    let reports = tempfile::tempdir().expect("temp dir");
    let outcome = faultline::Session::new()
        .expect("session")
        .reports_dir(reports.path())
        .backend(backend)
        .run_file(repo().join(scenario))
        .unwrap_or_else(|e| panic!("{scenario}: the harness could not judge: {e}"));
    println!("{}", faultline::report::render(&outcome, false));
    let code = i32::from(outcome.status.exit_code());
    if code != 0 {
        keep(&outcome.run.dir);
    }
    let run = read_run(&outcome.run.dir, code);
    assert_eq!(run.verdict, serde_json::to_value(&outcome).expect("outcome serializes"), "verdict.json is the outcome");
    Run { _reports: Some(reports), ..run }
}

/// One `faultline run` over several files, as a CI job runs a suite.
pub struct Suite {
    pub code: i32,
    pub stdout: String,
    /// Each scenario's run, in the order they ran.
    pub runs: Vec<Run>,
    pub junit: String,
    _reports: tempfile::TempDir,
}

pub fn run_suite(scenarios: &[PathBuf], extra: &[&str]) -> Suite {
    let reports = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--no-progress", "--reports"])
        .arg(reports.path())
        .args(extra)
        .args(scenarios)
        .output()
        .expect("faultline runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reports.path())
        .expect("reports dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("ledger.jsonl").exists())
        .collect();
    dirs.sort(); // run folders start with their start time
    let runs: Vec<Run> = dirs.iter().map(|d| read_run(d, 0)).collect();
    // Keep the folders of runs that failed for inspection, as run_with does.
    for (dir, run) in dirs.iter().zip(&runs) {
        if run.verdict["passed"] != true {
            keep(dir);
        }
    }
    let junit = std::fs::read_to_string(reports.path().join("junit.xml")).unwrap_or_default();
    Suite { code: out.status.code().unwrap_or(-1), stdout, runs, junit, _reports: reports }
}

/// Copies a failed run's folder out of the temporary reports folder.
fn keep(run_dir: &Path) {
    let kept =
        std::env::temp_dir().join(format!("faultline-failed-{}", run_dir.file_name().unwrap().to_string_lossy()));
    let _ = Command::new("cp").arg("-r").arg(run_dir).arg(&kept).status();
    eprintln!("run folder kept at {}", kept.display());
}

/// What one run folder holds; `code` is the caller's to know.
fn read_run(dir: &Path, code: i32) -> Run {
    let verdict = std::fs::read(dir.join("verdict.json"))
        .map(|b| serde_json::from_slice(&b).expect("verdict.json"))
        .unwrap_or(Value::Null);
    let ledger = std::fs::read_to_string(dir.join("ledger.jsonl"))
        .expect("ledger")
        .lines()
        .map(|l| serde_json::from_str(l).expect("ledger line"))
        .collect();
    if !verdict.is_null() {
        assert_timeline_agrees(dir, &verdict);
    }
    Run { dir: dir.to_owned(), code, verdict, ledger, _reports: None }
}

/// The data block of a run's timeline.html, parsed.
pub fn timeline_data(dir: &Path) -> Value {
    let page = std::fs::read_to_string(dir.join("timeline.html")).expect("timeline.html");
    let start = page.find("id=\"data\">").expect("data block") + "id=\"data\">".len();
    let len = page[start..].find("</script>").expect("end of data block");
    serde_json::from_str(&page[start..start + len]).expect("data is JSON")
}

/// The timeline draws the verdict's own counts: its redelivered, processed
/// and acked bars add up to what verdict.json says.
fn assert_timeline_agrees(dir: &Path, v: &Value) {
    let d = timeline_data(dir);
    let sum = |series: &str| d[series].as_array().expect("series").iter().filter_map(Value::as_u64).sum::<u64>();
    assert_eq!(sum("redelivered"), count(v, "redelivery"), "{}: timeline vs verdict redeliveries", dir.display());
    assert_eq!(sum("processed"), totals(v, "processed"), "{}", dir.display());
    assert_eq!(sum("acked"), totals(v, "acked"), "{}", dir.display());
}

/// The scenario files of one folder, sorted.
pub fn scenario_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(folder))
        .expect("scenario folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

pub fn count(v: &Value, class: &str) -> u64 {
    v["verdict"]["counts"][class].as_u64().unwrap_or_else(|| panic!("no count for {class} in {v}"))
}

pub fn totals(v: &Value, field: &str) -> u64 {
    v["verdict"]["totals"][field].as_u64().unwrap_or_else(|| panic!("no total {field}"))
}

/// The anomaly classes a verdict found (count above zero), redelivery aside:
/// how often a record is processed again depends on timing, whether it is
/// at all does not.
pub fn classes(v: &Value) -> Vec<String> {
    let counts = v["verdict"]["counts"].as_object().expect("counts");
    counts
        .iter()
        .filter(|(k, n)| n.as_u64().unwrap_or(0) > 0 && k.as_str() != "redelivery")
        .map(|(k, _)| k.clone())
        .collect()
}

/// Every one of `groups` bounded groups took its snapshot, processed exactly
/// the records below it (no overrun, no lost-delivery) and its members exited
/// by themselves. Snapshots of a fresh topic add up to the records below
/// them: at least `before` (written before any group started), fewer than
/// `all` (the producer was still writing).
pub fn assert_bounded_groups(r: &Run, groups: usize, before: u64, all: u64) {
    let v = &r.verdict;
    assert_eq!(count(v, "overrun"), 0, "{v:#}");
    assert_eq!(count(v, "lost-delivery"), 0, "{v:#}");
    let summaries = v["verdict"]["groups"].as_array().expect("groups");
    assert_eq!(summaries.len(), groups);
    for g in summaries {
        assert_eq!(g["bounded"], true, "{g}");
        let name = g["group"].as_str().expect("group name");
        let snapshot: u64 = r
            .ledger
            .iter()
            .filter(|e| e["ev"]["snapshot"]["group"] == name)
            .filter_map(|e| e["ev"]["snapshot"]["hwm"].as_u64())
            .sum();
        assert!(snapshot >= before && snapshot < all, "group {name}: snapshot {snapshot} records");
        let unique = g["processed"].as_u64().unwrap_or(0) - g["redelivered"].as_u64().unwrap_or(0);
        assert_eq!(unique, snapshot, "group {name} processed exactly its snapshot: {g}");
        let members: Vec<&str> = g["members"].as_array().expect("members").iter().filter_map(|m| m.as_str()).collect();
        let finished = r
            .ledger
            .iter()
            .filter(|e| e["ev"] == "finished" && members.contains(&e["src"].as_str().unwrap_or("")))
            .count();
        assert_eq!(finished, members.len(), "group {name}: every member exits by itself");
    }
}

/// Containers and networks whose labels match `label` (e.g.
/// `faultline.run=<id>`), asked of the Docker API.
pub async fn docker_labelled(label: &str) -> (Vec<bollard::models::ContainerSummary>, Vec<bollard::models::Network>) {
    use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};
    let docker = faultline::cluster::docker_client().await.expect("docker answers");
    let filters = std::collections::HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .expect("list containers");
    let networks =
        docker.list_networks(Some(ListNetworksOptions { filters: Some(filters) })).await.expect("list networks");
    (containers, networks)
}

/// The broker logs a docker run saved in its folder, one per broker.
pub fn broker_log(r: &Run, broker: u32) -> String {
    let path = r.dir.join("logs").join(format!("kafka-{broker}.log"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Seconds from a run's first fault ending to the first assignment that
/// follows the group losing (or giving up) partitions after the fault
/// started: how long the group took to get back to work. None when the
/// fault moved no partition (a fetch pause, a pause the session outlived).
pub fn time_to_rejoin(r: &Run) -> Option<f64> {
    let at = |key: &str| r.ledger.iter().find(|e| e["ev"][key].is_object()).and_then(|e| e["t"].as_u64());
    let (start, end) = (at("fault-start")?, at("fault-end")?);
    let member = |e: &&Value| e["src"].as_str().is_some_and(|s| s.starts_with('g'));
    let went = r
        .ledger
        .iter()
        .filter(member)
        .filter(|e| e["t"].as_u64() >= Some(start))
        .find(|e| e["ev"]["lost"].is_object() || e["ev"]["revoked"].is_object() || e["ev"]["exited"].is_object())?;
    let back = r
        .ledger
        .iter()
        .filter(member)
        .filter(|e| e["t"].as_u64() > went["t"].as_u64())
        .find(|e| e["ev"]["assigned"]["parts"].as_array().is_some_and(|p| !p.is_empty()))?;
    Some((back["t"].as_u64()? as f64 - end as f64) / 1000.0)
}

/// One line of the case × client table: scenario, client, verdict,
/// redelivered, lost, time to rejoin after the fault ended, wall time.
pub fn case_row(r: &Run, client: &str) -> String {
    let v = &r.verdict;
    // Negative: the partitions moved on while the fault lasted (a member
    // that left by its poll timer while holding a record).
    let rejoin =
        time_to_rejoin(r).map_or("-".to_string(), |s| if s < 0.0 { "during".into() } else { format!("{s:.1}s") });
    format!(
        "{:<34} {:<19} {:<13} redelivered {:>5}  lost {:>5}  rejoin {:>6}  wall {:.1}s",
        v["scenario"].as_str().unwrap_or("?"),
        client,
        v["status"].as_str().unwrap_or("?"),
        count(v, "redelivery"),
        count(v, "lost-write") + count(v, "lost-delivery"),
        rejoin,
        humantime::parse_duration(v["elapsed"].as_str().unwrap_or("0s")).map_or(0.0, |d| d.as_secs_f64()),
    )
}

/// Writes figures to target/tmp/NAME (a passing test's output is not
/// shown) and prints them.
pub fn write_figures(name: &str, rows: &[String]) {
    let text = rows.join("\n") + "\n";
    println!("\n{text}");
    let _ = std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join(name), text);
}

/// Processes started by the harness `pid` that are still there.
pub fn workers_of(pid: u32) -> Vec<u32> {
    let tag = format!("{}={pid}.", faultline::workers::HARNESS_ENV);
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|p| {
            let n: u32 = p.file_name().to_str()?.parse().ok()?;
            let env = std::fs::read(p.path().join("environ")).ok()?;
            let stat = std::fs::read_to_string(p.path().join("stat")).ok()?;
            let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            (!zombie && env.split(|&b| b == 0).any(|kv| kv.starts_with(tag.as_bytes()))).then_some(n)
        })
        .collect()
}
