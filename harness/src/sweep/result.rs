//! What a sweep found: per run, the figures read off its outcome; per point,
//! how many runs passed and the min / median / max of each figure.

use serde::{Deserialize, Serialize};

use crate::checker::{Class, Verdict};
use crate::judge::{Outcome, Status};
use crate::scenario::Key;

/// The figures a sweep reports per point, in table and plot order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Redelivered,
    Lost,
    Premature,
    /// Seconds from the fault's start to the first sign of it.
    Detect,
    /// Seconds from the fault's end to every partition held again.
    Recover,
}

impl Metric {
    pub const ALL: [Metric; 5] =
        [Metric::Redelivered, Metric::Lost, Metric::Premature, Metric::Detect, Metric::Recover];

    /// Column name in sweep.csv (with `_min`, `_median`, `_max`).
    pub fn key(self) -> &'static str {
        match self {
            Metric::Redelivered => "redelivered",
            Metric::Lost => "lost",
            Metric::Premature => "premature_commits",
            Metric::Detect => "detect_s",
            Metric::Recover => "recover_s",
        }
    }

    /// As a table header or a plot panel says it.
    pub fn title(self) -> &'static str {
        match self {
            Metric::Redelivered => "redelivered",
            Metric::Lost => "lost",
            Metric::Premature => "premature commits",
            Metric::Detect => "detect (s)",
            Metric::Recover => "recover (s)",
        }
    }

    fn of(self, r: &RunResult) -> Option<f64> {
        match self {
            Metric::Redelivered => r.redelivered.map(|n| n as f64),
            Metric::Lost => r.lost.map(|n| n as f64),
            Metric::Premature => r.premature.map(|n| n as f64),
            Metric::Detect => r.detect_ms.map(|ms| ms as f64 / 1000.0),
            Metric::Recover => r.recover_ms.map(|ms| ms as f64 / 1000.0),
        }
    }
}

/// One run of a point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// 1-based.
    pub repeat: u32,
    /// The run folder, relative to the sweep folder; none if the run did
    /// not get as far as making one.
    pub run_dir: Option<String>,
    pub status: Status,
    /// Why the harness could not run it, when it could not.
    pub error: Option<String>,
    /// None: unknown (see [`Outcome::known`]) or not run.
    pub redelivered: Option<u64>,
    pub lost: Option<u64>,
    pub premature: Option<u64>,
    /// Of the sweep's fault, the slowest group's time to detect.
    pub detect_ms: Option<u64>,
    /// Of the sweep's fault, the slowest group's time to recover; none if
    /// no partition went unheld, or one never came back.
    pub recover_ms: Option<u64>,
}

impl RunResult {
    pub fn judged(repeat: u32, run_dir: Option<String>, outcome: &Outcome, fault: u32) -> RunResult {
        let (detect_ms, recover_ms) = timings(&outcome.verdict, fault);
        RunResult {
            repeat,
            run_dir,
            status: outcome.status,
            error: None,
            redelivered: outcome.known(Key::Redelivered),
            lost: outcome.known(Key::Lost),
            premature: outcome.known(Key::Class(Class::PrematureCommit)),
            detect_ms,
            recover_ms,
        }
    }

    pub fn failed(repeat: u32, error: String) -> RunResult {
        RunResult {
            repeat,
            run_dir: None,
            status: Status::CannotJudge,
            error: Some(error),
            redelivered: None,
            lost: None,
            premature: None,
            detect_ms: None,
            recover_ms: None,
        }
    }
}

/// Fault `fault`'s time to detect and to recover, of the slowest group.
pub fn timings(v: &Verdict, fault: u32) -> (Option<u64>, Option<u64>) {
    let Some(f) = v.faults.iter().find(|f| f.id == fault) else { return (None, None) };
    let detect = f.groups.iter().filter_map(|g| g.detect_ms).max();
    let recover = f.groups.iter().filter_map(|g| g.recover_ms).max();
    (detect, recover)
}

/// min / median / max over a point's runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Stat {
    /// None when no run has a value.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Stat { min: v[0], median, max: v[n - 1] })
    }
}

/// A point's runs summed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: u32,
    pub fail: u32,
    pub cannot_judge: u32,
    /// Per metric, in [`Metric::ALL`] order, keyed by [`Metric::key`].
    pub stats: Vec<(String, Option<Stat>)>,
}

impl Summary {
    pub fn of(runs: &[RunResult]) -> Summary {
        let count = |s: Status| runs.iter().filter(|r| r.status == s).count() as u32;
        Summary {
            pass: count(Status::Pass),
            fail: count(Status::Fail),
            cannot_judge: count(Status::CannotJudge),
            stats: Metric::ALL
                .iter()
                .map(|m| (m.key().to_string(), Stat::of(runs.iter().filter_map(|r| m.of(r)))))
                .collect(),
        }
    }

    pub fn stat(&self, m: Metric) -> Option<Stat> {
        self.stats.iter().find(|(k, _)| k == m.key()).and_then(|(_, s)| *s)
    }

    /// `3 pass`, `2 pass, 1 fail`.
    pub fn verdict(&self) -> String {
        let parts: Vec<String> = [(self.pass, "pass"), (self.fail, "fail"), (self.cannot_judge, "cannot judge")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        parts.join(", ")
    }
}

/// One point of the grid and its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub index: usize,
    /// Per axis, the index of its value, and the value as a label.
    pub coords: Vec<usize>,
    pub values: Vec<String>,
    /// The point's scenario file, relative to the sweep folder.
    pub file: String,
    pub runs: Vec<RunResult>,
    pub summary: Summary,
}

/// The whole sweep, as sweep.json holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    pub scenario: String,
    pub file: String,
    pub axes: Vec<AxisResult>,
    pub repeat: u32,
    pub fault: u32,
    /// Points in the whole grid.
    pub grid: usize,
    /// The partitions whose points are here (`1/1` for a whole sweep).
    pub partitions: Vec<String>,
    /// Every point of the partitions finished (no Ctrl-C, no harness error).
    pub complete: bool,
    pub elapsed_s: f64,
    /// Finished points, in grid order.
    pub points: Vec<PointResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisResult {
    pub path: String,
    pub values: Vec<String>,
}

impl SweepResult {
    /// As `faultline run` over several files: 2 if a run could not be
    /// judged or the sweep did not finish, else 1 if one failed, else 0.
    pub fn exit_code(&self) -> u8 {
        let sum = |f: fn(&Summary) -> u32| self.points.iter().map(|p| f(&p.summary)).sum::<u32>();
        if !self.complete || sum(|s| s.cannot_judge) > 0 {
            2
        } else if sum(|s| s.fail) > 0 {
            1
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(Stat::of([1800.0, 0.0, 1700.0, 0.0]), Some(Stat { min: 0.0, median: 850.0, max: 1800.0 }));
        assert_eq!(Stat::of([3.0, 1.0, 2.0]), Some(Stat { min: 1.0, median: 2.0, max: 3.0 }));
        assert_eq!(Stat::of([]), None);
    }

    #[test]
    fn a_run_without_a_value_is_left_out_of_its_metric() {
        let mut a = RunResult::failed(1, "cluster did not start".into());
        let mut b = a.clone();
        a.status = Status::Pass;
        a.recover_ms = Some(4000);
        b.repeat = 2;
        let s = Summary::of(&[a, b]);
        assert_eq!((s.pass, s.fail, s.cannot_judge), (1, 0, 1));
        assert_eq!(s.stat(Metric::Recover), Some(Stat { min: 4.0, median: 4.0, max: 4.0 }));
        assert_eq!(s.stat(Metric::Detect), None);
        assert_eq!(s.verdict(), "1 pass, 1 cannot judge");
    }
}
