//! The harness killed (SIGKILL) at each phase of a run: whatever it leaves
//! (containers, networks, a paused broker, worker processes) is gone after
//! `faultline cleanup` or the next run, and the killed run's folder can be
//! re-checked: exit 2, "cannot judge", never a pass. Needs dockerd and the
//! Kafka image (`bash docker/setup.sh`); without them it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_faultline");

/// What a killed harness left, by kind.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Left {
    containers: usize,
    networks: usize,
    paused: usize,
    workers: usize,
}

async fn left_by(pid: u32) -> Left {
    let (containers, networks) = common::docker_labelled(&format!("faultline.pid={pid}")).await;
    Left {
        containers: containers.len(),
        networks: networks.len(),
        paused: containers.iter().filter(|c| c.state.as_ref().is_some_and(|s| s.to_string() == "paused")).count(),
        workers: common::workers_of(pid).len(),
    }
}

fn start(scenario: &str, reports: &Path) -> Child {
    Command::new(BIN)
        .args(["run", "--no-progress", "--reports"])
        .arg(reports)
        .arg(common::repo().join("harness/tests/scenarios").join(scenario))
        .current_dir(common::repo())
        .env("FAULTLINE_BIN", BIN)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(reports.join("harness.log")).expect("log file"))
        .spawn()
        .expect("faultline starts")
}

/// The run folder under `reports` (there is one).
fn run_dir(reports: &Path) -> Option<PathBuf> {
    std::fs::read_dir(reports).ok()?.flatten().map(|e| e.path()).find(|p| p.is_dir())
}

fn ledger_has(reports: &Path, needle: &str) -> bool {
    run_dir(reports)
        .and_then(|d| std::fs::read_to_string(d.join("ledger.jsonl")).ok())
        .is_some_and(|l| l.contains(needle))
}

/// Waits until `reached` says the run is at the kill point, then SIGKILLs
/// the harness. Fails if the harness ended first or never got there.
async fn kill_when(child: &mut Child, what: &str, reports: &Path, reached: impl AsyncFn() -> bool, settle: Duration) {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let log = std::fs::read_to_string(reports.join("harness.log")).unwrap_or_default();
            panic!("the harness ended ({status}) before {what}:\n{log}");
        }
        if reached().await {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(180), "the run never reached {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(settle).await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// `faultline check` of the killed run's folder: exit 2, cannot judge.
fn assert_cannot_judge(reports: &Path, what: &str) {
    let dir = run_dir(reports).unwrap_or_else(|| panic!("{what}: no run folder"));
    let out = Command::new(BIN).arg("check").arg(&dir).output().expect("check runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{what}: check of the killed run:\n{text}");
    assert!(text.to_lowercase().contains("cannot judge"), "{what}: {text}");
    assert!(!text.contains("panicked"), "{text}");
}

fn cleanup() {
    let out = Command::new(BIN).arg("cleanup").output().expect("cleanup runs");
    assert!(out.status.success(), "faultline cleanup: {}", String::from_utf8_lossy(&out.stderr));
}

/// A docker run killed at each phase, one after the other (a run's start
/// reaps what dead harnesses left, so parallel runs would blur "before").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_a_harness_killed_in_any_phase_leaves_nothing_after_cleanup_or_the_next_run() {
    /// Where the run is when the harness is killed.
    enum At {
        /// A container of the run exists.
        Container,
        /// The broker is paused (the ledger names a fault just before it acts).
        Paused,
        /// The ledger has entered this phase.
        Phase(&'static str),
    }
    let points = [
        ("cluster start", At::Container),
        ("workload", At::Phase("workload")),
        ("fault active", At::Paused),
        ("drain", At::Phase("drain")),
        ("audit", At::Phase("audit")),
    ];
    let mut rows = Vec::new();
    for (i, (what, at)) in points.iter().enumerate() {
        let reports = tempfile::tempdir().expect("temp dir");
        let mut child = start("death-docker.toml", reports.path());
        let pid = child.id();
        let reached = async || match at {
            At::Container => left_by(pid).await.containers > 0,
            At::Paused => left_by(pid).await.paused > 0,
            At::Phase(name) => ledger_has(reports.path(), &format!("\"phase\":{{\"name\":\"{name}\"}}")),
        };
        kill_when(&mut child, what, reports.path(), reached, Duration::ZERO).await;
        let before = left_by(pid).await;
        // Half the points are cleaned by `faultline cleanup`, the other half
        // by the next run, which reaps at its start.
        let by = if i % 2 == 0 {
            cleanup();
            "faultline cleanup"
        } else {
            let next = tempfile::tempdir().expect("temp dir");
            let out = Command::new(BIN)
                .args(["run", "--no-progress", "--reports"])
                .arg(next.path())
                .arg(common::repo().join("harness/tests/scenarios/short.toml"))
                .args(["--backend", "docker"])
                .output()
                .expect("the next run");
            assert_eq!(out.status.code(), Some(0), "the next run: {}", String::from_utf8_lossy(&out.stderr));
            "the next run"
        };
        let after = left_by(pid).await;
        eprintln!("[figure] killed at {what}: left {before:?}; after {by}: {after:?}");
        rows.push(format!(
            "| {what} | {} / {} / {} / {} | {by}: {} / {} / {} / {} |",
            before.containers,
            before.networks,
            before.paused,
            before.workers,
            after.containers,
            after.networks,
            after.paused,
            after.workers
        ));
        assert_eq!(after, Left::default(), "killed at {what}: left after {by}");
        if *what == "fault active" {
            assert_eq!(before.paused, 1, "the pause was on when the harness died");
        }
        if *what != "cluster start" {
            assert_cannot_judge(reports.path(), what);
        }
    }
    common::write_figures("harness-death", &rows);
}

/// On the mock, what a dead harness can leave is a worker process: one that
/// neither reads its input nor dies of SIGHUP (a wrapper script's helper)
/// lives on, unless the next faultline reaps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_left_by_a_dead_harness_is_reaped_by_cleanup() {
    let reports = tempfile::tempdir().expect("temp dir");
    let mut child = start("death-stall.toml", reports.path());
    let pid = child.id();
    // The fault is in the ledger just before the signal goes out.
    let stalled = async || ledger_has(reports.path(), "\"fault-start\"");
    kill_when(&mut child, "the stall", reports.path(), stalled, Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = common::workers_of(pid);
    eprintln!("[figure] mock, killed during a stall: {} worker process(es) left", before.len());
    assert!(!before.is_empty(), "the wrapper and its helper should outlive the harness");
    cleanup();
    assert_eq!(common::workers_of(pid), Vec::<u32>::new(), "workers left after faultline cleanup");
    assert_cannot_judge(reports.path(), "the stall");
}
