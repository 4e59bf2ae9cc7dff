//! A run's outcome: the verdict judged against the scenario's expectations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checker::{Class, Verdict};
use crate::runner::Drain;
use crate::scenario::{Expectation, Scenario};

/// One expectation and whether the run met it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Judged {
    pub key: String,
    pub expected: Expectation,
    pub actual: u64,
    pub ok: bool,
    /// Stated in the scenario file, or implied (violations default to 0).
    pub stated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub scenario: String,
    pub description: String,
    pub run_id: String,
    pub dir: PathBuf,
    pub cluster: String,
    pub passed: bool,
    pub expectations: Vec<Judged>,
    #[serde(with = "humantime_serde")]
    pub elapsed: Duration,
    #[serde(with = "humantime_serde")]
    pub drain: Duration,
    pub verdict: Verdict,
}

impl Outcome {
    pub fn new(
        scenario: &Scenario,
        run_id: &str,
        dir: &Path,
        cluster: String,
        verdict: Verdict,
        drain: Drain,
        elapsed: Duration,
    ) -> Outcome {
        let expectations = judge(scenario, &verdict);
        Outcome {
            scenario: scenario.name.clone(),
            description: scenario.description.clone(),
            run_id: run_id.into(),
            dir: dir.into(),
            cluster,
            passed: expectations.iter().all(|j| j.ok),
            expectations,
            elapsed,
            drain: drain.duration,
            verdict,
        }
    }
}

/// The count an expectation key refers to.
pub fn actual(key: &str, v: &Verdict) -> Option<u64> {
    let count = |c: Class| v.counts.get(&c).copied().unwrap_or(0);
    Some(match key {
        "lost" => count(Class::LostWrite) + count(Class::LostDelivery),
        "redelivered" => count(Class::Redelivery),
        "skipped-by-seek" => v.skipped_by_seek,
        "drain-timeouts" => v.drain_timeouts.len() as u64,
        "acked" => v.totals.acked,
        other => count(Class::from_name(other)?),
    })
}

/// Stated expectations first, then the implied ones: every class that is a
/// violation or an anomaly must be 0 unless the scenario says otherwise, and
/// every group must drain.
pub fn judge(scenario: &Scenario, v: &Verdict) -> Vec<Judged> {
    let mut out: Vec<Judged> = scenario
        .expect
        .iter()
        .map(|(key, e)| {
            let actual = actual(key, v).unwrap_or(0);
            Judged { key: key.clone(), expected: *e, actual, ok: e.holds(actual), stated: true }
        })
        .collect();
    let stated = |k: &str| scenario.expect.contains_key(k);
    for class in Class::ALL {
        let name = class.name();
        let covered = stated(name)
            || (stated("lost") && matches!(class, Class::LostWrite | Class::LostDelivery))
            || (stated("redelivered") && class == Class::Redelivery);
        if covered || matches!(class, Class::Redelivery | Class::DuplicateWrite) {
            continue;
        }
        let actual = actual(name, v).unwrap_or(0);
        out.push(Judged { key: name.into(), expected: Expectation::Eq(0), actual, ok: actual == 0, stated: false });
    }
    if !stated("drain-timeouts") {
        let actual = v.drain_timeouts.len() as u64;
        out.push(Judged {
            key: "drain-timeouts".into(),
            expected: Expectation::Eq(0),
            actual,
            ok: actual == 0,
            stated: false,
        });
    }
    out
}
