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
                .map(|j| format!("{} {} (got {})", j.key, j.expected, j.actual))
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
