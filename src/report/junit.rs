//! JUnit XML (`--format junit`, `<report-dir>/<target>.junit.xml`), for GitLab, Jenkins,
//! Azure DevOps and any CI that reads test reports. Built with the `quick-junit` crate.
//!
//! One test suite per rule (in targets.json order), one test case per result:
//! - `pass`: a passing case; `fail`: a `<failure>` (its type is the severity);
//!   `error`: an `<error>`; a suppressed `fail`: `<skipped>` with the suppression's
//!   reason, expiry and owner.
//! - The case's `classname` is `cloudkestrel.<target>.<rule>` (Jenkins splits it at the
//!   last dot into package and class; GitLab shows it as the suite), its `name` the
//!   check and the resource ARN (and the aspect, where one check gives one resource
//!   several results), unique within the suite.
//! - The message is repeated in the element's text with the details and the finding
//!   id: GitLab shows the text, not the `message` attribute.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::TargetReport;
use crate::rules::{Finding, Status};

fn case(f: &Finding, classname: &str) -> TestCase {
    let mut body = f.message.clone();
    for d in &f.details {
        body.push_str("\n- ");
        body.push_str(d);
    }
    body.push_str(&format!(
        "\nresource: {}\nseverity: {}\nid: {}",
        f.resource,
        f.severity.as_str(),
        f.id
    ));
    let status = match (f.status, &f.suppressed) {
        (Status::Pass, _) => TestCaseStatus::success(),
        (Status::Fail, Some(s)) => {
            let mut st = TestCaseStatus::skipped();
            st.set_message(format!(
                "suppressed until {}{}: {}",
                s.expires.format("%Y-%m-%d"),
                s.owner
                    .as_deref()
                    .map(|o| format!(" (owner {o})"))
                    .unwrap_or_default(),
                s.reason
            ))
            .set_type("suppressed")
            .set_description(body);
            st
        }
        (Status::Fail, None) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(f.message.clone())
                .set_type(f.severity.as_str())
                .set_description(body);
            st
        }
        (Status::Error, _) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(f.message.clone())
                .set_type("error")
                .set_description(body);
            st
        }
    };
    let mut name = format!("{} {}", f.check.as_str(), f.resource);
    if let Some(a) = f.aspect {
        name.push_str(&format!(" ({a})"));
    }
    let mut tc = TestCase::new(name, status);
    tc.set_classname(classname.to_string());
    tc
}

/// The JUnit report of one target.
pub fn report(report: &TargetReport) -> Report {
    let mut out = Report::new(format!("cloudkestrel {}", report.target));
    if let Some(t) = report.collected_at {
        out.set_timestamp(t.fixed_offset());
    }
    let mut suites: Vec<TestSuite> = Vec::new();
    for f in &report.results {
        let suite = match suites.last_mut() {
            Some(s) if s.name.as_str() == f.rule => s,
            _ => {
                suites.push(TestSuite::new(f.rule));
                suites.last_mut().expect("just pushed")
            }
        };
        suite.add_test_case(case(
            f,
            &format!("cloudkestrel.{}.{}", report.target, f.rule),
        ));
    }
    // A collection problem that no result shows (no configured rule needed that data)
    // still makes the run incomplete: one error case says so.
    if !report.problems.is_empty() {
        let mut suite = TestSuite::new("collection");
        for (i, p) in report.problems.iter().enumerate() {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(p.to_string()).set_type(p.error_code.clone());
            let mut tc = TestCase::new(format!("problem {} {}", i + 1, p.operation), st);
            tc.set_classname(format!("cloudkestrel.{}.collection", report.target));
            suite.add_test_case(tc);
        }
        suites.push(suite);
    }
    out.add_test_suites(suites);
    out
}

/// The JUnit file's text.
pub fn to_xml(r: &TargetReport) -> Result<String, String> {
    report(r).to_string().map_err(|e| e.to_string())
}
