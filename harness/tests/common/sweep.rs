//! Reading a sweep folder back, for the mock and the Kafka sweep tests.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use faultline::scenario::Key;
use faultline::sweep::{Metric, Stat, SweepResult};
use faultline::Outcome;

pub fn faultline(args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).current_dir(super::repo()).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn read_result(dir: &Path) -> SweepResult {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).expect("sweep.json")).expect("a sweep.json")
}

/// What a run's own verdict.json says, per metric.
fn figures(run_dir: &Path, fault: u32) -> Vec<Option<f64>> {
    let text = std::fs::read_to_string(run_dir.join("verdict.json")).expect("verdict.json");
    let o: Outcome = serde_json::from_str(&text).expect("an outcome");
    let f = o.verdict.faults.iter().find(|f| f.id == fault);
    let slowest = |pick: fn(&faultline::checker::GroupTiming) -> Option<u64>| {
        f.and_then(|f| f.groups.iter().filter_map(pick).max()).map(|ms| ms as f64 / 1000.0)
    };
    vec![
        Some(o.value(Key::Redelivered) as f64),
        // Unknown without the audit read, or when a group did not drain.
        (o.verdict.audited && o.verdict.drain_timeouts.is_empty()).then(|| o.value(Key::Lost) as f64),
        Some(o.value(Key::Class(faultline::checker::Class::PrematureCommit)) as f64),
        slowest(|g| g.detect_ms),
        slowest(|g| g.recover_ms),
    ]
}

fn stat(values: &[f64]) -> Option<Stat> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (n > 0).then(|| Stat {
        n: n as u32,
        min: v[0],
        median: if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 },
        max: v[n - 1],
    })
}

fn assert_close(got: Option<Stat>, want: Option<Stat>, tolerance: f64, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => {
            for (a, b) in [(g.min, w.min), (g.median, w.median), (g.max, w.max)] {
                assert!((a - b).abs() < tolerance, "{what}: {a}, from the runs {b}");
            }
        }
        (g, w) => assert_eq!(g, w, "{what}"),
    }
}

/// sweep.csv as rows of (column → cell).
fn csv_rows(dir: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("sweep.csv")).expect("sweep.csv");
    let header: Vec<String> = r.headers().expect("a header").iter().map(String::from).collect();
    r.records().map(|rec| header.iter().cloned().zip(rec.expect("a row").iter().map(String::from)).collect()).collect()
}

/// Every point's CSV row and JSON summary hold the min / median / max of
/// the figures in its runs' own verdict.json files.
pub fn assert_points_match_their_runs(dir: &Path, r: &SweepResult) {
    let rows = csv_rows(dir);
    assert_eq!(rows.len(), r.points.len(), "a CSV row per point");
    for (p, row) in r.points.iter().zip(&rows) {
        assert_eq!(row["point"], p.index.to_string());
        for (a, v) in r.axes.iter().zip(&p.values) {
            assert_eq!(&row[&a.path], v, "point {}: {}", p.index, a.path);
        }
        assert_eq!(p.runs.len(), r.repeat as usize, "point {}", p.index);
        let per_run: Vec<Vec<Option<f64>>> = p
            .runs
            .iter()
            .map(|run| figures(&dir.join(run.run_dir.as_deref().expect("a run folder")), r.fault))
            .collect();
        for (i, m) in Metric::ALL.iter().enumerate() {
            let values: Vec<f64> = per_run.iter().filter_map(|f| f[i]).collect();
            let want = stat(&values);
            let what = format!("point {}: {}", p.index, m.key());
            assert_close(p.summary.stat(*m), want, 1e-9, &format!("{what} in sweep.json"));
            let cell = |s: &str| row[&format!("{}_{s}", m.key())].parse::<f64>().ok();
            let n = row[&format!("{}_n", m.key())].parse::<u32>().expect("a count of runs");
            assert_eq!(n as usize, values.len(), "{what}: runs with a value");
            let got =
                cell("min").map(|min| Stat { n, min, median: cell("median").unwrap(), max: cell("max").unwrap() });
            assert_close(got, want, 1e-6, &format!("{what} in sweep.csv"));
        }
        let passed = p.runs.iter().filter(|run| run.status == faultline::Status::Pass).count() as u32;
        assert_eq!(row["pass"], passed.to_string());
    }
}

pub fn assert_pictures(dir: &Path, heatmap: bool) {
    let mut want = vec!["lines.svg", "lines.png", "sweep.html"];
    if heatmap {
        want.extend(["heatmap.svg", "heatmap.png"]);
    }
    for f in want {
        let len = std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "{f}: {len} bytes");
    }
    let page = std::fs::read_to_string(dir.join("sweep.html")).unwrap();
    assert!(
        page.contains("lines.svg") && page.contains("/timeline.html"),
        "the page shows the plot and links the runs"
    );
}
