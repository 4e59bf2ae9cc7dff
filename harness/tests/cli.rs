//! The command line as a user meets it: validation of every shipped
//! scenario, and errors that name file, line and field with exit code 2.

mod common;

use std::process::Command;

fn faultline(args: &[&str], cwd: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).current_dir(cwd).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shipped_scenario_validates() {
    let repo = common::repo();
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/mock", "scenarios/kafka", "scenarios/cases", "scenarios/cases/full-length"] {
        for e in std::fs::read_dir(repo.join(dir)).expect("scenario folder").flatten() {
            if e.path().extension().is_some_and(|x| x == "toml") {
                files.push(e.path().to_string_lossy().into_owned());
            }
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = faultline(&args, &repo);
    assert_eq!(code, 0, "{out}{err}");
}

fn bad(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), text).unwrap();
    let (code, _, err) = faultline(&["validate", "bad.toml"], dir.path());
    (code, err)
}

#[test]
fn an_unknown_field_is_named_with_its_line() {
    let (code, err) = bad("[[producer]]\nrecords = 10\ncolour = \"red\"\n\n[[group]]\n");
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:3: producer[0].colour: unknown field `colour`"), "{err}");
}

#[test]
fn a_reference_to_a_missing_broker_is_named_with_its_line() {
    let (code, err) = bad(
        "[[producer]]\nrecords = 10\n[[group]]\n[[fault]]\nkind = \"pause-broker\"\nat = \"1s\"\nduration = \"1s\"\nbroker = 4\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:8: fault[0].broker: broker 4 does not exist"), "{err}");
}

#[test]
fn a_bad_duration_and_a_bad_expectation_are_errors_not_panics() {
    let (code, err) = bad("[[producer]]\nrecords = 10\n[[group]]\nprocessing = \"5 parsecs\"\n");
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:4: group[0].processing"), "{err}");
    let (code, err) = bad("[[producer]]\nrecords = 10\n[[group]]\n[expect]\nlots = 1\n");
    assert_eq!(code, 2);
    assert!(err.contains("unknown expectation `lots`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = faultline(&["run", "nope.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("nope.toml") && err.contains("cannot read"), "{err}");
}
