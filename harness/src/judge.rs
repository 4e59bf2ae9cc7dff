//! The judge: a verdict against a scenario's expectations. The one place
//! that decides pass, fail or cannot-judge, and that knows which count an
//! expectation key means.
//!
//! Like Jepsen's `merge-valid`, a violation outranks an unknown: a run that
//! broke an expectation fails even if another could not be judged; a run
//! that broke none but could not judge one is not a pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checker::{Class, Verdict};
use crate::ledger::RunRecord;
use crate::scenario::{Expectation, Key};

/// The result of a run, decided once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    /// The ledger lacks the ground truth an expectation needs.
    CannotJudge,
}

impl Status {
    /// 0 pass, 1 fail, 2 the harness could not judge.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Pass => 0,
            Status::Fail => 1,
            Status::CannotJudge => 2,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::CannotJudge => "CANNOT JUDGE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    Ok,
    Violated,
    /// The count is unknown (no whole audit read, a group that never
    /// drained), or known only as a lower bound that does not decide.
    Unjudged,
}

/// One expectation and how the run met it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Judged {
    pub key: Key,
    pub expected: Expectation,
    /// The count the checker reported; not to be trusted when `check` is
    /// `unjudged`.
    pub actual: u64,
    pub check: Check,
    /// Stated in the scenario file, or implied (violations default to 0).
    pub stated: bool,
    /// `actual` is a minimum: the ledger lacks part of the final read that
    /// could only add to it.
    #[serde(default)]
    pub at_least: bool,
}

impl Judged {
    /// The count as the summary states it: "at least 3" when a minimum.
    pub fn got(&self) -> String {
        if self.at_least {
            format!("at least {}", self.actual)
        } else {
            self.actual.to_string()
        }
    }
}

/// A run judged: what ran, what the checker found, what it means.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub scenario: String,
    pub description: String,
    #[serde(flatten)]
    pub run: RunRecord,
    pub status: Status,
    /// `status == pass`, for tools that want a boolean.
    pub passed: bool,
    pub expectations: Vec<Judged>,
    /// Why some expectations could not be judged.
    pub unjudged: Vec<String>,
    pub verdict: Verdict,
}

impl Outcome {
    pub fn new(
        scenario: &str,
        description: &str,
        expect: &BTreeMap<Key, Expectation>,
        run: RunRecord,
        verdict: Verdict,
    ) -> Outcome {
        let expectations = judge(expect, &verdict);
        let status = status(&expectations);
        Outcome {
            scenario: scenario.into(),
            description: description.into(),
            run,
            status,
            passed: status == Status::Pass,
            unjudged: missing_ground_truth(&verdict),
            expectations,
            verdict,
        }
    }

    /// The count `key` refers to.
    pub fn value(&self, key: Key) -> u64 {
        value(key, &self.verdict)
    }

    /// The count `key` refers to, or None when the ledger lacks the ground
    /// truth it needs (no audit read, a group that never drained).
    pub fn known(&self, key: Key) -> Option<u64> {
        (knowledge(key, &self.verdict) == Known::Exact).then(|| self.value(key))
    }

    /// Anomalies beyond loss and what at-least-once allows (redelivery,
    /// duplicate-write): the results table's column.
    pub fn other_anomalies(&self) -> u64 {
        let counted = |c: &Class| {
            !matches!(c, Class::LostWrite | Class::LostDelivery | Class::Redelivery | Class::DuplicateWrite)
        };
        self.verdict.counts.iter().filter(|(c, _)| counted(c)).map(|(_, n)| n).sum()
    }
}

/// The count an expectation key refers to.
pub fn value(key: Key, v: &Verdict) -> u64 {
    let count = |c: Class| v.counts.get(&c).copied().unwrap_or(0);
    match key {
        Key::Class(c) => count(c),
        Key::Lost => count(Class::LostWrite) + count(Class::LostDelivery),
        Key::Redelivered => count(Class::Redelivery),
        Key::SkippedBySeek => v.skipped_by_seek,
        Key::DrainTimeouts => v.drain_timeouts.len() as u64,
        Key::Acked => v.totals.acked,
    }
}

/// How well the verdict knows the count `key` refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Exact,
    /// The rest of the ledger could only add to it: the ledger was cut
    /// before the part of the final read the count also needs.
    AtLeast,
    Unknown,
}

/// What the verdict holds of what `key` needs: the audit read is the ground
/// truth for what the log holds; the broker's final committed offsets show
/// commits no member lived to report; a group that never drained has not
/// processed all it would have (its lost-delivery counts too many, not too
/// few).
fn knowledge(key: Key, v: &Verdict) -> Known {
    let needs_audit = matches!(
        key,
        Key::Lost | Key::Class(Class::LostWrite | Class::LostDelivery | Class::Phantom | Class::DuplicateWrite)
    );
    let needs_offsets = matches!(key, Key::Class(Class::PrematureCommit | Class::CommitRegression));
    let needs_drain = matches!(key, Key::Lost | Key::Class(Class::LostDelivery));
    if needs_drain && !v.drain_timeouts.is_empty() {
        Known::Unknown
    } else if (needs_audit && !v.audited)
        || (needs_offsets && (!v.audited || v.audit_unfinished || !v.missing_offsets.is_empty()))
    {
        Known::AtLeast
    } else {
        Known::Exact
    }
}

/// A count known to be at least `n`: it meets `e` if every count from `n` up
/// does, breaks it if none does, else it is unknown.
fn at_least(e: Expectation, n: u64) -> Check {
    let met = match e {
        Expectation::Gt(v) => n > v,
        Expectation::Ge(v) => n >= v,
        Expectation::Any => true,
        Expectation::Eq(_) | Expectation::Lt(_) | Expectation::Le(_) | Expectation::Between(..) => false,
    };
    let broken = match e {
        Expectation::Eq(v) | Expectation::Le(v) | Expectation::Between(_, v) => n > v,
        Expectation::Lt(v) => n >= v,
        Expectation::Gt(_) | Expectation::Ge(_) | Expectation::Any => false,
    };
    match (met, broken) {
        (true, _) => Check::Ok,
        (_, true) => Check::Violated,
        _ => Check::Unjudged,
    }
}

/// What the verdict lacks, in words, for the summary.
fn missing_ground_truth(v: &Verdict) -> Vec<String> {
    let mut why = Vec::new();
    let commits = "premature-commit and commit-regression are only what the members reported";
    if v.totals.entries == 0 {
        why.push("the ledger is empty: the run wrote nothing, so nothing can be judged".to_string());
    } else if !v.audited && v.audit_cut.is_empty() {
        why.push(format!("no audit read in the ledger (the run ended before its final read): lost-write, lost-delivery, phantom and duplicate-write are unknown; {commits}"));
    } else if !v.audited {
        let parts: Vec<String> = v.audit_cut.iter().map(|p| format!("p{p}")).collect();
        why.push(format!(
            "the audit read was cut short (the ledger ends before the final high watermark of {}): lost-write, lost-delivery, phantom and duplicate-write are unknown; {commits}",
            parts.join(", ")
        ));
    }
    // Named groups' missing offsets already say it was cut among them.
    if v.audited && v.audit_unfinished && v.missing_offsets.is_empty() {
        why.push(format!(
            "the final read has no end mark (the ledger ends among the groups' final committed offsets): {commits}"
        ));
    }
    for (group, parts) in &v.missing_offsets {
        let parts: Vec<String> = parts.iter().map(|p| format!("p{p}")).collect();
        why.push(format!(
            "the ledger lacks group {group}'s final committed offsets on {} (the final read was cut short): {commits}",
            parts.join(", ")
        ));
    }
    let broken = value(Key::Class(Class::ProtocolViolation), v);
    if broken > 0 {
        why.push(format!("{broken} protocol violation(s) by the workers: what they reported cannot be trusted"));
    }
    for group in &v.drain_timeouts {
        why.push(format!("group {group} did not drain within run.drain_timeout: its lost-delivery is unknown"));
    }
    why
}

/// Stated expectations first, then the implied ones: every class that is a
/// violation or an anomaly must be 0 unless the scenario says otherwise
/// (redelivery and duplicate-write are what at-least-once allows), and every
/// group must drain, or the run cannot be judged.
pub fn judge(expect: &BTreeMap<Key, Expectation>, v: &Verdict) -> Vec<Judged> {
    let judged = |key: Key, expected: Expectation, stated: bool| {
        let actual = value(key, v);
        let known = knowledge(key, v);
        // `any` asks nothing of the count, so it holds even when it is unknown.
        let check = match (expected == Expectation::Any, known) {
            (true, _) => Check::Ok,
            (false, Known::Unknown) => Check::Unjudged,
            (false, Known::AtLeast) => at_least(expected, actual),
            (false, Known::Exact) if expected.holds(actual) => Check::Ok,
            (false, Known::Exact) => Check::Violated,
        };
        Judged { key, expected, actual, check, stated, at_least: known == Known::AtLeast }
    };
    let mut out: Vec<Judged> = expect.iter().map(|(key, e)| judged(*key, *e, true)).collect();
    let stated = |k: Key| expect.contains_key(&k);
    for class in Class::ALL {
        let covered = stated(Key::Class(class))
            || (stated(Key::Lost) && matches!(class, Class::LostWrite | Class::LostDelivery))
            || (stated(Key::Redelivered) && class == Class::Redelivery);
        if !covered && !matches!(class, Class::Redelivery | Class::DuplicateWrite) {
            out.push(judged(Key::Class(class), Expectation::Eq(0), false));
        }
    }
    if !stated(Key::DrainTimeouts) {
        // A group that never drained leaves the run unfinished, not failed.
        let mut j = judged(Key::DrainTimeouts, Expectation::Eq(0), false);
        if j.check == Check::Violated {
            j.check = Check::Unjudged;
        }
        out.push(j);
    }
    out
}

/// Cannot-judge if a worker broke the protocol (nothing it reported can be
/// trusted, not even a violation), else fail if anything was violated, else
/// cannot-judge if anything was unknown, else pass.
pub fn status(judged: &[Judged]) -> Status {
    let broken = |j: &&Judged| j.key == Key::Class(Class::ProtocolViolation) && !j.stated;
    if judged.iter().filter(broken).any(|j| j.check == Check::Violated) {
        Status::CannotJudge
    } else if judged.iter().any(|j| j.check == Check::Violated) {
        Status::Fail
    } else if judged.iter().any(|j| j.check == Check::Unjudged) {
        Status::CannotJudge
    } else {
        Status::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::ledger::{Entry, Event};

    /// A verdict with these counts, audited or not, and these groups timed out.
    fn verdict(counts: &[(Class, u64)], audited: bool, timeouts: &[&str]) -> Verdict {
        let mut v = check(std::iter::empty::<Entry>());
        v.totals.entries = 100;
        for (c, n) in counts {
            v.counts.insert(*c, *n);
        }
        v.audited = audited;
        v.drain_timeouts = timeouts.iter().map(|g| g.to_string()).collect();
        v
    }

    fn expect(pairs: &[(&str, &str)]) -> BTreeMap<Key, Expectation> {
        pairs.iter().map(|(k, e)| (k.parse().unwrap(), e.parse().unwrap())).collect()
    }

    fn find(judged: &[Judged], key: &str) -> Judged {
        let key: Key = key.parse().unwrap();
        judged.iter().find(|j| j.key == key).cloned().unwrap_or_else(|| panic!("{key} not judged: {judged:?}"))
    }

    #[test]
    fn every_expectation_form_is_held_against_its_count() {
        let v = verdict(&[(Class::Redelivery, 1800)], true, &[]);
        for (e, ok) in [
            ("1800", true),
            ("= 1799", false),
            ("> 0", true),
            (">= 1801", false),
            ("< 1800", false),
            ("<= 1800", true),
            ("1000..2000", true),
            ("0..1799", false),
            ("any", true),
        ] {
            let j = find(&judge(&expect(&[("redelivered", e)]), &v), "redelivered");
            let want = if ok { Check::Ok } else { Check::Violated };
            assert_eq!((j.check, j.actual, j.stated), (want, 1800, true), "redelivered {e}");
        }
    }

    #[test]
    fn aggregates_count_what_their_names_say() {
        let mut v = verdict(&[(Class::LostWrite, 2), (Class::LostDelivery, 3), (Class::Redelivery, 7)], true, &[]);
        v.skipped_by_seek = 11;
        v.totals.acked = 500;
        assert_eq!(value(Key::Lost, &v), 5);
        assert_eq!(value(Key::Redelivered, &v), 7);
        assert_eq!(value(Key::SkippedBySeek, &v), 11);
        assert_eq!(value(Key::Acked, &v), 500);
        assert_eq!(value(Key::Class(Class::LostWrite), &v), 2);
    }

    #[test]
    fn unstated_violations_must_be_zero_but_redelivery_and_duplicate_writes_are_allowed() {
        let v = verdict(&[(Class::Redelivery, 40), (Class::DuplicateWrite, 2)], true, &[]);
        let judged = judge(&BTreeMap::new(), &v);
        assert_eq!(status(&judged), Status::Pass);
        assert!(judged.iter().all(|j| !j.stated));
        assert!(!judged.iter().any(|j| j.key == Key::Class(Class::Redelivery)));
        let v = verdict(&[(Class::Skip, 1)], true, &[]);
        let judged = judge(&BTreeMap::new(), &v);
        assert_eq!(find(&judged, "skip").check, Check::Violated);
        assert_eq!(status(&judged), Status::Fail);
    }

    #[test]
    fn a_stated_aggregate_covers_its_classes() {
        // The premature-offset-store case: loss is what it expects.
        let v = verdict(&[(Class::LostDelivery, 1), (Class::PrematureCommit, 1)], true, &[]);
        let e = expect(&[("lost", "> 0"), ("premature-commit", "> 0")]);
        let judged = judge(&e, &v);
        assert!(!judged.iter().any(|j| j.key == Key::Class(Class::LostDelivery)), "covered by `lost`");
        assert_eq!(status(&judged), Status::Pass);
    }

    #[test]
    fn without_the_audit_read_loss_cannot_be_judged_and_is_never_a_pass() {
        let v = verdict(&[], false, &[]);
        let judged = judge(&expect(&[("lost", "0")]), &v);
        assert_eq!(find(&judged, "lost").check, Check::Unjudged);
        assert_eq!(find(&judged, "phantom").check, Check::Unjudged);
        // Without the broker's final offsets, a commit no member lived to
        // report may have run past records: none seen is not none.
        assert_eq!(find(&judged, "premature-commit").check, Check::Unjudged);
        assert_eq!(status(&judged), Status::CannotJudge);
        assert_eq!(Status::CannotJudge.exit_code(), 2);
        // `any` asks nothing of the count, so it holds unknown.
        let anything = [("lost", "any"), ("phantom", "any"), ("premature-commit", "any"), ("commit-regression", "any")];
        let judged = judge(&expect(&anything), &v);
        assert_eq!(status(&judged), Status::Pass);
    }

    #[test]
    fn a_count_known_only_from_below_decides_what_it_can() {
        // Members reported 3 premature commits; the final offsets are missing.
        let mut v = verdict(&[(Class::PrematureCommit, 3)], true, &[]);
        v.missing_offsets.insert("g0".into(), vec![2]);
        for (e, want) in [
            ("0", Check::Violated),
            ("<= 2", Check::Violated),
            ("< 3", Check::Violated),
            ("0..2", Check::Violated),
            ("> 2", Check::Ok),
            (">= 3", Check::Ok),
            ("3", Check::Unjudged),
            ("<= 3", Check::Unjudged),
            ("1..5", Check::Unjudged),
            ("> 3", Check::Unjudged),
        ] {
            let j = find(&judge(&expect(&[("premature-commit", e)]), &v), "premature-commit");
            assert_eq!(j.check, want, "premature-commit {e} with at least 3");
        }
        // None seen, offsets missing: unknown, and the outcome says whose.
        v.counts.insert(Class::PrematureCommit, 0);
        let judged = judge(&BTreeMap::new(), &v);
        assert_eq!(find(&judged, "premature-commit").check, Check::Unjudged);
        assert_eq!(find(&judged, "commit-regression").check, Check::Unjudged);
        assert_eq!(find(&judged, "lost-write").check, Check::Ok, "the audit is whole");
        assert_eq!(status(&judged), Status::CannotJudge);
        let why = missing_ground_truth(&v);
        assert!(why.len() == 1 && why[0].contains("group g0's final committed offsets on p2"), "{why:?}");
    }

    #[test]
    fn without_the_end_mark_commit_counts_are_minimums_and_the_summary_says_so() {
        let mut v = verdict(&[(Class::PrematureCommit, 2)], true, &[]);
        v.audit_unfinished = true;
        let judged = judge(&BTreeMap::new(), &v);
        let j = find(&judged, "premature-commit");
        assert_eq!((j.check, j.at_least, j.got()), (Check::Violated, true, "at least 2".to_string()));
        assert_eq!(find(&judged, "commit-regression").check, Check::Unjudged);
        let lost = find(&judged, "lost-write");
        assert_eq!((lost.check, lost.at_least, lost.got()), (Check::Ok, false, "0".to_string()), "the audit is whole");
        let why = missing_ground_truth(&v);
        assert!(why.len() == 1 && why[0].contains("no end mark"), "{why:?}");
    }

    #[test]
    fn an_empty_ledger_says_so() {
        let v = check(std::iter::empty::<Entry>());
        let why = missing_ground_truth(&v);
        assert!(why.len() == 1 && why[0].contains("the ledger is empty"), "{why:?}");
        assert_eq!(status(&judge(&BTreeMap::new(), &v)), Status::CannotJudge);
    }

    #[test]
    fn an_audit_cut_short_names_the_partitions_it_lacks() {
        let mut v = verdict(&[], false, &[]);
        v.audit_cut = vec![2, 3];
        let why = missing_ground_truth(&v);
        assert!(why.len() == 1 && why[0].contains("cut short") && why[0].contains("p2, p3"), "{why:?}");
        assert_eq!(status(&judge(&BTreeMap::new(), &v)), Status::CannotJudge);
    }

    #[test]
    fn a_group_that_never_drained_leaves_its_loss_unknown() {
        let v = verdict(&[], true, &["g0"]);
        let judged = judge(&BTreeMap::new(), &v);
        assert_eq!(find(&judged, "lost-delivery").check, Check::Unjudged);
        assert_eq!(find(&judged, "lost-write").check, Check::Ok, "the audit still judges writes");
        assert_eq!(find(&judged, "drain-timeouts").check, Check::Unjudged);
        assert_eq!(status(&judged), Status::CannotJudge);
        // A scenario that expects the timeout judges it like any count.
        let judged = judge(&expect(&[("drain-timeouts", "1"), ("lost", "any")]), &v);
        assert_eq!(status(&judged), Status::Pass);
    }

    #[test]
    fn a_worker_that_breaks_the_protocol_leaves_the_run_unjudged() {
        let v = verdict(&[(Class::ProtocolViolation, 1), (Class::PrematureCommit, 3)], true, &[]);
        assert_eq!(status(&judge(&BTreeMap::new(), &v)), Status::CannotJudge);
        // A scenario that expects the violation (a worker check) judges it.
        let judged = judge(&expect(&[("protocol-violation", "> 0"), ("premature-commit", "any")]), &v);
        assert_eq!(status(&judged), Status::Pass);
    }

    #[test]
    fn a_violation_outranks_an_unknown() {
        let v = verdict(&[(Class::Nonmonotonic, 1)], false, &[]);
        assert_eq!(status(&judge(&BTreeMap::new(), &v)), Status::Fail);
    }

    #[test]
    fn the_outcome_says_why_it_cannot_judge() {
        let run = RunRecord {
            run_id: "r".into(),
            dir: "r".into(),
            cluster: "mock".into(),
            elapsed: Default::default(),
            drain: Default::default(),
        };
        let entries = [Entry { t: 0, src: "runner".into(), ev: Event::DrainTimeout { group: "g0".into() } }];
        let o = Outcome::new("s", "", &BTreeMap::new(), run, check(entries));
        assert_eq!((o.status, o.passed), (Status::CannotJudge, false));
        assert_eq!(o.unjudged.len(), 2, "{:?}", o.unjudged);
        assert!(o.unjudged[0].contains("no audit read") && o.unjudged[1].contains("g0"), "{:?}", o.unjudged);
    }
}
