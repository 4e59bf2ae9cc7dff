//! End-to-end runs of scenario files on the embedded mock cluster, through
//! the `faultline` binary exactly as a user runs it. Each asserts what the
//! scenario exists to show, from the verdict.json the run wrote. The case
//! files in scenarios/cases/ name the docker backend; those whose verdict the
//! mock can reproduce run here with `--backend mock` as well.

mod common;

use std::process::Command;

use common::{count, run, run_lib, totals, Run};
use faultline::scenario::Backend;

/// Through the library, as a Rust user's test would run it.
fn on_mock(scenario: &str) -> Run {
    run_lib(scenario, Some(Backend::Mock))
}

#[test]
fn clean_run_has_no_loss_and_no_duplicates() {
    let (code, v) = run("scenarios/mock/clean.toml");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(totals(&v, "acked"), 3000);
    assert_eq!(totals(&v, "audited"), 3000);
    assert_eq!(totals(&v, "processed_unique"), 3000);
    assert!(totals(&v, "commits_ok") >= 3000, "sync-each commits every record");
    for class in ["lost-write", "lost-delivery", "premature-commit", "redelivery", "duplicate-write", "skip", "phantom"]
    {
        assert_eq!(count(&v, class), 0, "{class}");
    }
}

/// README's first command, and its library example: a crash under
/// store-after-processing, redelivered and not lost.
#[test]
fn the_quickstart_passes_with_redeliveries_and_no_loss() {
    let Run { code, verdict: v, .. } = run_lib("scenarios/quickstart.toml", None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["status"], "pass");
    assert_eq!(count(&v, "lost-write") + count(&v, "lost-delivery"), 0);
    assert!(count(&v, "redelivery") > 0, "the crashed member's records come again");
    assert_eq!(totals(&v, "processed_unique"), 10000);
}

#[test]
fn crash_under_auto_offset_store_shows_premature_commit_and_loss() {
    let Run { code, verdict: v, .. } = on_mock("scenarios/cases/2-premature-offset-store.toml");
    assert_eq!(code, 0, "the scenario expects the bug: {v:#}");
    assert!(count(&v, "premature-commit") > 0);
    assert!(count(&v, "lost-delivery") > 0);
    assert_eq!(count(&v, "lost-write"), 0);
}

#[test]
fn crash_with_store_after_processing_loses_nothing() {
    let Run { code, verdict: v, .. } = on_mock("scenarios/cases/2-store-after-processing.toml");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(count(&v, "lost-delivery"), 0);
    assert_eq!(count(&v, "lost-write"), 0);
    assert_eq!(count(&v, "premature-commit"), 0);
    assert_eq!(totals(&v, "processed_unique"), 40);
}

#[test]
fn broker_restart_loses_nothing_and_its_redeliveries_are_attributed_to_it() {
    let Run { code, verdict: v, .. } = on_mock("scenarios/cases/3-broker-restart.toml");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(count(&v, "lost-write") + count(&v, "lost-delivery"), 0);
    assert_eq!(totals(&v, "faults"), 1);
    assert_eq!(totals(&v, "processed_unique"), totals(&v, "audited"));
    assert!(count(&v, "redelivery") > 0, "records processed since the last commit come again");
    let causes = v["verdict"]["redelivery_causes"].as_array().expect("causes");
    assert!(causes[0]["cause"].as_str().unwrap_or("").contains("restart-broker"), "{causes:?}");
}

#[test]
fn fetch_pause_and_resume_skips_nothing() {
    let Run { code, verdict: v, .. } = on_mock("scenarios/cases/5-fetch-pause-resume.toml");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(count(&v, "skip"), 0);
    assert_eq!(count(&v, "lost-delivery"), 0);
    assert_eq!(v["verdict"]["skipped_by_seek"], 0);
    assert_eq!(totals(&v, "processed_unique"), 5000);
    assert!(totals(&v, "commits_ok") > 0, "sync-batch commits");
    assert_eq!(totals(&v, "commit_errors"), 0);
}

#[test]
fn seek_to_end_on_resume_is_reported_as_skipped_on_purpose() {
    let Run { code, verdict: v, .. } = on_mock("scenarios/cases/5-fetch-pause-seek-end.toml");
    assert_eq!(code, 0, "{v:#}");
    let skipped = v["verdict"]["skipped_by_seek"].as_u64().unwrap();
    assert!(skipped > 0);
    assert_eq!(count(&v, "lost-delivery"), 0);
    assert_eq!(totals(&v, "processed_unique") + skipped, 5000);
}

#[test]
fn bounded_groups_stop_exactly_at_their_start_time_high_watermarks() {
    let r = on_mock("scenarios/cases/1-bounded-catch-up.toml");
    assert_eq!(r.code, 0, "{:#}", r.verdict);
    common::assert_bounded_groups(&r, 3, 3000, 11000);
}

/// Child processes of `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(list.split_whitespace().filter_map(|s| s.parse::<u32>().ok()));
    }
    out
}

fn alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would say so in stat.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn ctrl_c_heals_faults_and_leaves_no_worker_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("stall.toml");
    std::fs::write(
        &scenario,
        r#"
[[producer]]
records = 100000
rate = 2000

[[group]]
members = 2

[[fault]]
kind = "stall-consumer"
member = 0
at = "1s"
duration = "10m"
"#,
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--no-progress", "--reports"])
        .arg(dir.path().join("reports"))
        .arg(&scenario)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("faultline starts");
    // Wait until the stall is in place: a worker in state T (stopped).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let workers = loop {
        let kids = children(child.id());
        let stopped =
            kids.iter().any(|k| std::fs::read_to_string(format!("/proc/{k}/stat")).is_ok_and(|s| s.contains(") T ")));
        if stopped && kids.len() >= 3 {
            break kids;
        }
        assert!(std::time::Instant::now() < deadline, "the stall never took effect; children: {kids:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().expect("faultline exits");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an interrupted run is not a verdict: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    for w in workers {
        assert!(!alive(w), "worker {w} survived the interrupt");
    }
}

/// A processing time below a millisecond is kept by every client: 2,000
/// records at 500 µs each take at least a second to process (a sleep is
/// never shorter than asked). Protocol version 1 sent whole milliseconds,
/// and "500us" became no processing at all.
#[test]
fn processing_time_below_a_millisecond_reaches_every_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("sub-ms.toml");
    std::fs::write(
        &scenario,
        r#"
[topic]
partitions = 1

[[producer]]
records = 2000

[[group]]
members = 1
commit = "sync-batch"
batch = 500
processing = "500us"
start_after = "1s"

[expect]
lost = 0
"#,
    )
    .expect("write scenario");
    for client in ["rdkafka", "franz-go", "confluent-kafka-go"] {
        let r = common::run_with(scenario.to_str().unwrap(), &["--client", client]);
        assert_eq!(r.code, 0, "{client}: {:#}", r.verdict);
        let times: Vec<u64> =
            r.ledger.iter().filter(|e| e["ev"]["processed"].is_object()).filter_map(|e| e["t"].as_u64()).collect();
        assert_eq!(times.len(), 2000, "{client}");
        let span = times[times.len() - 1] - times[0];
        assert!(span >= 999, "{client}: 1,999 gaps of at least 500 µs took {span} ms");
    }
}

/// A fault aimed at the coordinator hits the broker that holds the role
/// when it starts; the ledger names the broker and the role.
#[test]
fn a_restart_of_the_coordinator_names_the_broker_it_hit() {
    let r = common::run_full("harness/tests/scenarios/coordinator-restart.toml");
    assert_eq!(r.code, 0, "{:#}", r.verdict);
    let start = r.ledger.iter().find_map(|e| e["ev"]["fault-start"].as_object().cloned()).expect("fault-start");
    let target = start["target"].as_str().expect("target");
    assert!(["broker-1", "broker-2", "broker-3"].contains(&target), "a broker by id: {target}");
    let role = start["role"].as_str().expect("the role");
    assert!(role.starts_with("coordinator of group faultline-"), "{role}");
    assert!(r.ledger.iter().all(|e| e["ev"]["fault-end"]["err"].is_null()), "healed");
    let summary = std::fs::read_to_string(r.dir.join("summary.txt")).expect("summary");
    assert!(summary.contains(&format!("restart-broker {target} ({role})")), "the summary says both:\n{summary}");
}
