//! The fuzz targets (fuzz/, cargo-fuzz) in the test command.
//!
//! * Every crash a fuzzer found is kept under fuzz/regressions/<target>/ and
//!   replayed here through the targets' own logic (fuzz/src/lib.rs, included
//!   below): on stable, no fuzzer needed.
//! * A short bounded run of each target (fuzz/run.sh, both at once) on its
//!   seed corpus. It needs cargo-fuzz and the targets built (fuzz/setup.sh,
//!   which docker/setup.sh runs); without them it fails and says so.
//!   FAULTLINE_FUZZ_SECONDS sets the time per target (default 20).

#[path = "../../fuzz/src/lib.rs"]
mod targets;

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// A fuzz target: its name and what it does with one input.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 2] = [("scenario", targets::scenario), ("ledger", targets::ledger)];

#[test]
fn every_kept_crash_replays_clean() {
    let scratch = tempfile::tempdir().unwrap();
    std::env::set_var("FAULTLINE_FUZZ_SCRATCH", scratch.path());
    let mut failed = Vec::new();
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let dir = common::repo().join("fuzz/regressions").join(name);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        inputs.sort();
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            replayed += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(&data))) {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed.push(format!("{name}: {}: {msg}", input.display()));
            }
        }
    }
    eprintln!("replayed {replayed} kept inputs");
    assert!(failed.is_empty(), "kept fuzz inputs still crash:\n  {}", failed.join("\n  "));
}

#[test]
fn fuzz_targets_find_no_crash_in_a_short_run() {
    let seconds = std::env::var("FAULTLINE_FUZZ_SECONDS").unwrap_or_else(|_| "20".into());
    let script = common::repo().join("fuzz/run.sh");
    let t0 = Instant::now();
    let out = Command::new("bash")
        .arg(&script)
        .args(["--time", &seconds, "--jobs", "2"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}fuzz/run.sh took {:.1} s", t0.elapsed().as_secs_f64());
    match out.status.code() {
        Some(0) => {}
        Some(1) => panic!(
            "a fuzz target crashed (input and panic above); keep the input under fuzz/regressions/<target>/\n{stderr}"
        ),
        _ => panic!("fuzz/run.sh could not fuzz ({}): is cargo-fuzz installed (fuzz/setup.sh)?\n{stderr}", out.status),
    }
}
