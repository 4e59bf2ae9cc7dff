//! What a sweep found: per run, the figures read off its outcome; per point,
//! how many runs passed and the min / median / max of each figure.

use std::collections::BTreeMap;

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
    /// no partition went unheld, or one never came back (`never_recovered`).
    pub recover_ms: Option<u64>,
    /// A group the fault left with partitions unheld never held them all again.
    #[serde(default)]
    pub never_recovered: bool,
}

impl RunResult {
    pub fn judged(repeat: u32, run_dir: Option<String>, outcome: &Outcome, fault: u32) -> RunResult {
        let Timings { detect_ms, recover_ms, never_recovered } = timings(&outcome.verdict, fault);
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
            never_recovered,
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
            never_recovered: false,
        }
    }
}

/// Fault `fault`'s time to detect and to recover, of the slowest group.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Timings {
    pub detect_ms: Option<u64>,
    /// None if a group never recovered: the slowest is then "never".
    pub recover_ms: Option<u64>,
    pub never_recovered: bool,
}

pub fn timings(v: &Verdict, fault: u32) -> Timings {
    let Some(f) = v.faults.iter().find(|f| f.id == fault) else { return Timings::default() };
    let never_recovered = f.groups.iter().any(|g| g.disrupted && g.recover_ms.is_none());
    Timings {
        detect_ms: f.groups.iter().filter_map(|g| g.detect_ms).max(),
        recover_ms: if never_recovered { None } else { f.groups.iter().filter_map(|g| g.recover_ms).max() },
        never_recovered,
    }
}

/// min / median / max over the runs of a point that have a value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// How many runs had a value.
    pub n: u32,
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
        Some(Stat { n: n as u32, min: v[0], median, max: v[n - 1] })
    }
}

/// A point's runs summed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: u32,
    pub fail: u32,
    pub cannot_judge: u32,
    /// Runs where a group never held all its partitions again.
    pub never_recovered: u32,
    /// Per metric, by [`Metric::key`]; none if no run had a value.
    pub stats: BTreeMap<String, Option<Stat>>,
}

impl Summary {
    pub fn of(runs: &[RunResult]) -> Summary {
        let count = |s: Status| runs.iter().filter(|r| r.status == s).count() as u32;
        Summary {
            pass: count(Status::Pass),
            fail: count(Status::Fail),
            cannot_judge: count(Status::CannotJudge),
            never_recovered: runs.iter().filter(|r| r.never_recovered).count() as u32,
            stats: Metric::ALL
                .iter()
                .map(|m| (m.key().to_string(), Stat::of(runs.iter().filter_map(|r| m.of(r)))))
                .collect(),
        }
    }

    pub fn stat(&self, m: Metric) -> Option<Stat> {
        self.stats.get(m.key()).copied().flatten()
    }

    pub fn runs(&self) -> u32 {
        self.pass + self.fail + self.cannot_judge
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
    /// Why the sweep stopped before the end.
    #[serde(default)]
    pub stopped: Option<String>,
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
        assert_eq!(Stat::of([1800.0, 0.0, 1700.0, 0.0]), Some(Stat { n: 4, min: 0.0, median: 850.0, max: 1800.0 }));
        assert_eq!(Stat::of([3.0, 1.0, 2.0]), Some(Stat { n: 3, min: 1.0, median: 2.0, max: 3.0 }));
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
        assert_eq!(s.stat(Metric::Recover), Some(Stat { n: 1, min: 4.0, median: 4.0, max: 4.0 }));
        assert_eq!(s.stat(Metric::Detect), None);
        assert_eq!(s.verdict(), "1 pass, 1 cannot judge");
    }

    /// Two groups, one whole again 3 s after the fault, one never.
    #[test]
    fn the_slowest_group_is_the_one_that_never_recovered() {
        use crate::checker::{FaultTiming, GroupTiming};
        let mut v = crate::checker::check(std::iter::empty());
        let g = |group: &str, detect_ms, disrupted, recover_ms| GroupTiming {
            group: group.into(),
            detect_ms,
            disrupted,
            recover_ms,
        };
        v.faults = vec![FaultTiming {
            id: 1,
            kind: "pause-broker".into(),
            target: "broker-1".into(),
            start_ms: 1000,
            end_ms: Some(9000),
            groups: vec![g("g0", Some(6000), true, Some(3000)), g("g1", Some(7000), true, None)],
        }];
        assert_eq!(timings(&v, 1), Timings { detect_ms: Some(7000), recover_ms: None, never_recovered: true });
        v.faults[0].groups[1] = g("g1", Some(500), false, None);
        assert_eq!(timings(&v, 1), Timings { detect_ms: Some(6000), recover_ms: Some(3000), never_recovered: false });
        assert_eq!(timings(&v, 2), Timings::default(), "no such fault: no timings");
    }
}
