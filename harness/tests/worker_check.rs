//! `faultline worker-check` as a user meets it: the built-in worker passes,
//! and workers broken on purpose (tests/workers/) are caught, each with what
//! it did. All on the embedded mock.

mod common;

use std::process::Command;

/// Runs `faultline worker-check -- argv`; returns the exit code and stdout+stderr.
fn check(argv: &[&str]) -> (i32, String) {
    check_on("mock", argv)
}

/// `faultline worker-check --backend BACKEND -- argv`.
fn check_on(backend: &str, argv: &[&str]) -> (i32, String) {
    let reports = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["worker-check", "--backend", backend, "--reports"])
        .arg(reports.path())
        .arg("--")
        .args(argv)
        .env("FAULTLINE_BIN", env!("CARGO_BIN_EXE_faultline"))
        .output()
        .expect("faultline runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    (out.status.code().unwrap_or(-1), text)
}

fn script(name: &str) -> String {
    common::repo().join("harness/tests/workers").join(name).to_string_lossy().into_owned()
}

#[test]
fn the_built_in_worker_keeps_the_protocol() {
    let (code, out) = check(&[env!("CARGO_BIN_EXE_faultline"), "worker"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK    the worker kept the protocol"), "{out}");
    assert!(out.contains("rdkafka 2."), "the worker's hello names its client: {out}");
}

#[test]
fn a_worker_that_writes_garbage_is_caught_with_the_line() {
    let (code, out) = check(&[&script("garbage.sh")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("wrote a line that is not a worker's event: \"this is not an event\""), "{out}");
}

#[test]
fn a_worker_that_forges_the_audit_is_caught() {
    let (code, out) = check(&[&script("forger.sh")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("(only the runner writes this event)"), "{out}");
    assert!(out.contains("\\\"audit-end\\\""), "names the line: {out}");
}

#[test]
fn a_worker_that_ends_before_it_started_is_caught_with_its_stderr() {
    let (code, out) = check(&[&script("early-exit.sh")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("exited before it said `started`"), "{out}");
    assert!(out.contains("about to leave without a word"), "the tail of its stderr: {out}");
}

#[test]
fn a_worker_that_commits_before_processing_is_caught() {
    let (code, out) = check(&[&script("commit-first.sh")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("reported before the processing they cover"), "{out}");
}

/// A hold the worker ignores would leave the fault not injected: that is
/// a broken worker, not a pass.
#[test]
fn a_worker_that_ignores_hold_record_is_caught() {
    let (code, out) = check(&[&script("deaf-to-hold.sh")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hold-record could not be injected") && out.contains("held no record within 10s"), "{out}");
}

#[test]
fn a_command_that_does_not_exist_cannot_be_run() {
    let (code, out) = check(&["./no-such-consumer"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot start worker g0-m0") && out.contains("no-such-consumer"), "{out}");
}

/// An adapter under clients/ (built by `bash clients/setup.sh`, which the
/// test command's docker/setup.sh runs); missing, the test fails and says so.
fn adapter(name: &str) -> String {
    let bin = common::repo().join("clients").join(name).join(format!("faultline-{name}"));
    assert!(bin.is_file(), "{} is missing: run `bash clients/setup.sh`", bin.display());
    bin.to_string_lossy().into_owned()
}

#[test]
fn the_confluent_kafka_go_adapter_keeps_the_protocol() {
    let (code, out) = check(&[&adapter("confluent-kafka-go")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("confluent-kafka-go v2.11.1"), "the adapter's hello names its client: {out}");
}

#[test]
fn the_franz_go_adapter_keeps_the_protocol() {
    let (code, out) = check(&[&adapter("franz-go")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("franz-go v1.22.3"), "the adapter's hello names its client: {out}");
}

/// Apache Kafka's Java consumer cannot talk to librdkafka's mock (its
/// ApiVersions v4 gets an answer it misreads as a 20-minute throttle), so it
/// is checked on Kafka; on the mock it says why at once instead of hanging.
#[test]
fn docker_the_java_adapter_keeps_the_protocol_on_kafka() {
    let (code, out) = check_on("docker", &[&adapter("java")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK    the worker kept the protocol"), "{out}");
    assert!(out.contains("java 4.1.1"), "the adapter's hello names its client: {out}");
    let (code, out) = check(&[&adapter("java")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot run against librdkafka's mock cluster"), "{out}");
}
