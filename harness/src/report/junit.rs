//! junit.xml: one test case per scenario, so any CI system shows a suite of
//! scenarios natively. A failure carries the violated expectations and the
//! first offending records; a harness error is an `error`, not a failure.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::checker::Class;

use super::{render, Outcome};

/// What became of one scenario file.
pub enum Result<'a> {
    Judged(&'a Outcome),
    /// The harness could not judge it (exit 2).
    Error {
        scenario: String,
        message: String,
    },
}

pub fn write(path: &Path, results: &[Result<'_>]) -> std::io::Result<()> {
    let mut suite = TestSuite::new("faultline");
    for r in results {
        suite.add_test_case(case(r));
    }
    let mut report = Report::new("faultline");
    report.add_test_suite(suite);
    let xml = report.to_string().map_err(std::io::Error::other)?;
    std::fs::write(path, xml)
}

fn case(r: &Result<'_>) -> TestCase {
    match r {
        Result::Judged(o) => {
            let status = if o.passed {
                TestCaseStatus::success()
            } else {
                let violated: Vec<String> = o
                    .expectations
                    .iter()
                    .filter(|j| !j.ok)
                    .map(|j| format!("{} {} (got {})", j.key, j.expected, j.actual))
                    .collect();
                let mut details = String::new();
                for j in o.expectations.iter().filter(|j| !j.ok) {
                    if let Some(class) = Class::from_name(&j.key) {
                        for f in o.verdict.findings.get(&class).into_iter().flatten().take(5) {
                            details.push_str(&format!("{}: {}\n", class.name(), f.detail));
                        }
                    }
                }
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!("expectations violated: {}", violated.join(", ")));
                status.set_description(details);
                status
            };
            let mut case = TestCase::new(o.scenario.clone(), status);
            case.set_time(o.elapsed);
            case.set_system_out(render(o, false));
            case
        }
        Result::Error { scenario, message } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(message.clone());
            TestCase::new(scenario.clone(), status)
        }
    }
}
