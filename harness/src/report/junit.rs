//! junit.xml: one test case per scenario, so any CI system shows a suite of
//! scenarios natively. A failure carries the violated expectations and the
//! first offending records; a harness error is an `error`, not a failure.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::judge::{Check, Status};
use crate::scenario::Key;

use super::{render, Row};

/// One test case per row: a judged scenario, or an error of the harness.
pub fn write(path: &Path, results: &[Row<'_>]) -> std::io::Result<()> {
    let mut suite = TestSuite::new("faultline");
    for r in results {
        suite.add_test_case(case(r));
    }
    let mut report = Report::new("faultline");
    report.add_test_suite(suite);
    let xml = report.to_string().map_err(std::io::Error::other)?;
    std::fs::write(path, xml)
}

fn case((scenario, r): &Row<'_>) -> TestCase {
    match r {
        Ok(o) => {
            let violated: Vec<String> = o
                .expectations
                .iter()
                .filter(|j| j.check == Check::Violated)
                .map(|j| format!("{} {} (got {})", j.key, j.expected, j.got()))
                .collect();
            let mut details = String::new();
            for j in o.expectations.iter().filter(|j| j.check == Check::Violated) {
                if let Key::Class(class) = j.key {
                    for f in o.verdict.findings.get(&class).into_iter().flatten().take(5) {
                        details.push_str(&format!("{}: {}\n", class.name(), f.detail));
                    }
                }
            }
            let status = match o.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Fail => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(format!("expectations violated: {}", violated.join(", ")));
                    status.set_description(details);
                    status
                }
                // Not a verdict on the consumer: the harness lacked ground truth.
                Status::CannotJudge => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(format!("cannot judge: {}", o.unjudged.join("; ")));
                    status.set_description(details);
                    status
                }
            };
            let mut case = TestCase::new(o.scenario.clone(), status);
            case.set_time(o.run.elapsed);
            case.set_system_out(render(o, false));
            case
        }
        Err(message) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(*message);
            TestCase::new(*scenario, status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::judge::Outcome;
    use crate::ledger::{Entry, Event, RunRecord};

    fn outcome(expect: &[(&str, &str)]) -> Outcome {
        let run = RunRecord {
            run_id: "r".into(),
            dir: "r".into(),
            cluster: "mock".into(),
            elapsed: Default::default(),
            drain: Default::default(),
        };
        let expect = expect.iter().map(|(k, e)| (k.parse().unwrap(), e.parse().unwrap())).collect();
        // No audit read: loss is unknown.
        let started = Entry { t: 0, src: "runner".into(), ev: Event::Phase { name: "start".into() } };
        Outcome::new("s", "", &expect, run, check([started]))
    }

    #[test]
    fn a_run_that_cannot_be_judged_is_an_error_that_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        let unknown = outcome(&[("lost", "0")]);
        let anything = [("lost", "any"), ("phantom", "any"), ("premature-commit", "any"), ("commit-regression", "any")];
        let known = outcome(&anything);
        assert_eq!(known.status, Status::Pass, "`any` holds on an unknown count");
        write(&path, &[("s", Ok(&unknown)), ("t", Ok(&known)), ("u", Err("the cluster did not start"))]).unwrap();
        let xml = std::fs::read_to_string(&path).unwrap();
        assert_eq!(xml.matches("<error").count(), 2, "{xml}");
        assert!(xml.contains("cannot judge: no audit read in the ledger"), "{xml}");
        assert!(xml.contains("the cluster did not start"), "{xml}");
        assert!(!xml.contains("<failure"), "{xml}");
    }
}
