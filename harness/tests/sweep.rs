//! `faultline sweep` end to end on the embedded mock, as a user runs it:
//! the grid of a `[sweep]` table, every output file, each point's figures
//! equal to what its own runs' verdicts say; partitions joined by `merge`;
//! Ctrl-C keeping the points already finished; bad axes refused up front.

mod common;

use std::process::Command;

use common::sweep::{assert_pictures, assert_points_match_their_runs, faultline, read_result};
use faultline::sweep::SweepResult;

const FILE: &str = "scenarios/sweeps/mock-crash-replacement.toml";

#[test]
fn a_two_by_two_sweep_repeated_twice_reports_each_point_as_its_runs_say() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let (code, stdout, stderr) = faultline(&["sweep", FILE, "--jobs", "2", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let r = read_result(&out);
    assert!(r.complete);
    assert_eq!((r.grid, r.points.len(), r.repeat), (4, 4, 2));
    assert_eq!(r.axes[0].values, ["1s", "4s"]);
    assert_eq!(r.axes[1].values, ["6000", "10000"]);
    assert_points_match_their_runs(&out, &r);
    assert_pictures(&out, true);
    // Each point's file reproduces it with `faultline run`: it validates and holds its values.
    let p3 = std::fs::read_to_string(out.join(&r.points[3].file)).unwrap();
    assert!(p3.contains("duration = \"4s\"") && p3.contains("\"session.timeout.ms\" = 10000"), "{p3}");
    assert!(!p3.contains("[sweep]"));
    let (code, _, err) = faultline(&["validate", out.join(&r.points[3].file).to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // The terminal table: a line per point, with its values and verdict.
    assert!(stdout.contains("SWEEP  mock-crash-replacement  (4 of 4 points, 8 runs"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("4s") && l.contains("10000") && l.contains("2 pass")),
        "{stdout}"
    );
}

#[test]
fn partitions_cover_the_grid_and_merge_into_one_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let part = |k: &str| dir.path().join(format!("part{}", &k[..1]));
    let parts: Vec<_> = ["1/2", "2/2"]
        .into_iter()
        .map(|k| {
            let out = part(k);
            let args: Vec<String> = ["sweep", FILE, "--repeat", "1", "--partition", k, "--out", out.to_str().unwrap()]
                .map(String::from)
                .to_vec();
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                faultline(&args)
            })
        })
        .collect();
    for p in parts {
        let (code, out, err) = p.join().unwrap();
        assert_eq!(code, 0, "a part that ran its points is a success: {out}{err}");
    }
    let (a, b) = (read_result(&part("1")), read_result(&part("2")));
    let idx = |r: &SweepResult| r.points.iter().map(|p| p.index).collect::<Vec<_>>();
    assert_eq!((idx(&a), idx(&b)), (vec![0, 2], vec![1, 3]), "every 2nd point, from the k-th");
    assert!(a.complete && b.complete, "each part finished its own points");

    let merged_dir = dir.path().join("merged");
    let (code, out, err) = faultline(&[
        "sweep",
        "merge",
        part("1").to_str().unwrap(),
        part("2").to_str().unwrap(),
        "--out",
        merged_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let m = read_result(&merged_dir);
    assert_eq!(idx(&m), vec![0, 1, 2, 3]);
    assert!(m.complete);
    assert_eq!(m.partitions, ["1/2", "2/2"]);
    // Links and figures now resolve from the merged folder.
    assert_points_match_their_runs(&merged_dir, &m);
    assert_pictures(&merged_dir, true);
    assert!(merged_dir.join(&m.points[1].file).is_file(), "{}", m.points[1].file);

    // The same part twice is refused: the point would be counted twice.
    let (code, _, err) = faultline(&[
        "sweep",
        "merge",
        part("1").to_str().unwrap(),
        part("1").to_str().unwrap(),
        "--out",
        merged_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("point 0 is in two of the folders"), "{err}");
}

#[test]
fn ctrl_c_keeps_the_points_already_finished() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["sweep", FILE, "--repeat", "1", "--out", out.to_str().unwrap()])
        .current_dir(common::repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(out.join("sweep.json")).map(|t| !t.contains("\"index\"")).unwrap_or(true) {
        assert!(std::time::Instant::now() < deadline, "no point finished in 120 s");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(2), "a stopped sweep is not a pass");
    let r = read_result(&out);
    assert!(!r.complete);
    assert!(!r.points.is_empty() && r.points.len() < 4, "{} points", r.points.len());
    assert_points_match_their_runs(&out, &r);
    assert_pictures(&out, true);
}

#[test]
fn a_bad_axis_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let o = out.to_str().unwrap();
    for (vary, says) in [
        ("fault[0].durration=1s", "fault[0].durration: unknown field"),
        ("fault[3].duration=1s", "fault[3].duration: `fault` has 1 in the file, there is no [3]"),
        ("topic.partitions=four", "topic.partitions: invalid type: string \"four\""),
        ("fault[0].duration=1s,soon", "fault[0].duration: invalid value: string \"soon\", expected a duration"),
    ] {
        let (code, _, err) = faultline(&["sweep", FILE, "--vary", vary, "--out", o]);
        assert_eq!(code, 2, "{vary}: {err}");
        assert!(flat(&err).contains(says), "{vary}: {err}");
        assert!(!out.exists(), "{vary}: nothing ran");
    }
    // The file's own [sweep] is checked by `validate`.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(common::repo().join(FILE))
        .unwrap()
        .replace("\"fault[0].duration\"", "\"fault[0].durations\"");
    std::fs::write(&bad, text).unwrap();
    let (code, _, err) = faultline(&["validate", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(flat(&err).contains("fault[0].durations: unknown field"), "{err}");
}

/// miette's report folded onto one line, without its frame.
fn flat(report: &str) -> String {
    report.replace(['│', '×'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}
