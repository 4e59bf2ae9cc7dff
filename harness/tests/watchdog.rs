//! The harness never hangs: whatever phase of a run hangs, `faultline run`
//! exits 2 within run.timeout + drain_timeout + the grace, naming the
//! phase, and leaves no worker behind. The hangs are real ones where the
//! harness has them (a fault still on when run.timeout ends the run) and
//! injected ones elsewhere (`FAULTLINE_HANG`, debug builds only), because
//! every wait inside a phase is bounded by now.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// run.timeout + drain_timeout of tests/scenarios/short.toml.
const SHORT_LIMITS: Duration = Duration::from_secs(15 + 8);
const GRACE: Duration = Duration::from_secs(16);

struct Ended {
    code: i32,
    stderr: String,
    took: Duration,
    pid: u32,
}

/// Runs a scenario of tests/scenarios; a harness still running after
/// `deadline` is killed (the test then fails on its exit code).
fn run(scenario: &str, env: &[(&str, &str)]) -> Ended {
    let deadline = SHORT_LIMITS + GRACE + Duration::from_secs(90);
    let reports = tempfile::tempdir().expect("temp dir");
    let stderr_path = reports.path().join("stderr.txt");
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--no-progress", "--reports"])
        .arg(reports.path())
        .arg(common::repo().join("harness/tests/scenarios").join(scenario))
        .env("FAULTLINE_GRACE", "16s")
        .env("RUST_BACKTRACE", "0")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("faultline starts");
    let pid = child.id();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if t.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    Ended { code, stderr, took: t.elapsed(), pid }
}

#[test]
fn a_hang_in_any_phase_ends_the_run_with_exit_2_naming_the_phase() {
    let phases = ["start", "workload", "drain", "stop", "audit", "teardown"];
    let ended: Vec<(&str, Ended)> = std::thread::scope(|s| {
        let runs: Vec<_> =
            phases.iter().map(|&p| (p, s.spawn(move || run("short.toml", &[("FAULTLINE_HANG", p)])))).collect();
        runs.into_iter().map(|(p, h)| (p, h.join().expect("run thread"))).collect()
    });
    for (phase, e) in &ended {
        eprintln!("[figure] FAULTLINE_HANG={phase}: exit {} after {:.1?}", e.code, e.took);
        assert_eq!(e.code, 2, "hang in {phase}: {}", e.stderr);
        assert!(e.stderr.contains(&format!("phase `{phase}` overran its limit of")), "hang in {phase}: {}", e.stderr);
        assert!(!e.stderr.contains("panicked"), "{}", e.stderr);
        assert!(e.took < SHORT_LIMITS + GRACE, "hang in {phase} took {:?}", e.took);
        assert_eq!(common::workers_of(e.pid), Vec::<u32>::new(), "workers left after a hang in {phase}");
    }
}

#[test]
fn a_fault_still_on_at_run_timeout_is_named_as_the_phase_that_overran() {
    let e = run("late-fault.toml", &[]);
    assert_eq!(e.code, 2, "{}", e.stderr);
    assert!(e.stderr.contains("phase `faults` overran its limit of 10s (run.timeout)"), "{}", e.stderr);
    assert!(e.took < Duration::from_secs(10 + 5) + GRACE, "took {:?}", e.took);
    assert_eq!(common::workers_of(e.pid), Vec::<u32>::new());
}

/// A phase that blocks its thread cannot be cut short from inside: the
/// backstop thread ends the process, with the phase it was stuck in.
#[test]
fn a_blocked_thread_is_ended_by_the_backstop_naming_the_phase() {
    let e = run("short.toml", &[("FAULTLINE_HANG", "drain:thread")]);
    eprintln!("[figure] FAULTLINE_HANG=drain:thread: exit {} after {:.1?}", e.code, e.took);
    assert_eq!(e.code, 2, "{}", e.stderr);
    assert!(e.stderr.contains("stuck in phase `drain`"), "{}", e.stderr);
    // The backstop waits 30 s more than the phases' limits would.
    assert!(e.took < SHORT_LIMITS + GRACE + Duration::from_secs(40), "took {:?}", e.took);
    assert_eq!(common::workers_of(e.pid), Vec::<u32>::new(), "the backstop kills the workers");
}

/// Once a run is tearing down, no worker may start: one that did (a start
/// racing the end of `timeout`) used to outlive the run and hang it.
#[test]
fn a_closed_worker_set_starts_no_worker() {
    let set = faultline::workers::WorkerSet::new(Path::new(env!("CARGO_BIN_EXE_faultline")), vec![]);
    set.close();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let logs = tempfile::tempdir().expect("temp dir");
    let spec = faultline::workers::WorkerSpec::Producer(faultline::workers::ProducerWork {
        index: 0,
        bootstrap: "127.0.0.1:1".into(),
        topic: "t".into(),
        records: 1,
        rate: 0,
        keys: 0,
        acks: "all".into(),
        idempotence: true,
        properties: Default::default(),
    });
    let err = set.spawn("producer-0", &faultline::workers::Program::BuiltIn, &spec, logs.path(), tx).unwrap_err();
    assert!(err.to_string().contains("the run is ending"), "{err}");
    assert!(set.all().is_empty());
}
