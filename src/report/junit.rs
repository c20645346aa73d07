//! JUnit XML (`--format junit`, `<report-dir>/<target>.junit.xml`), for GitLab, Jenkins,
//! Azure DevOps and any CI that reads test reports. Built with the `quick-junit` crate.
//!
//! One test suite per rule configured for the target (in targets.json order, a rule
//! without results as an empty suite), one test case per result:
//! - `pass`: a passing case; `fail`: a `<failure>` (its type is the severity);
//!   `error`: an `<error>`; a suppressed `fail`: `<skipped>` with the suppression's
//!   reason, expiry and owner.
//! - The case's `classname` is `cloudkestrel.<target>.<rule>` (Jenkins splits it at the
//!   last dot into package and class; GitLab shows it as the suite), its `name` the
//!   check and the resource ARN (and the aspect, where one check gives one resource
//!   several results), unique within the suite.
//! - The message is repeated in the element's text with the details, the severity, the
//!   finding id, the scope (`resource` or `account`, and the id of the result an
//!   account-level failure follows from) and, with a baseline, whether the failure is
//!   new: GitLab shows the text, not the `message` attribute.
//! - Every collection problem is an `<error>` case of a last suite, `collection`: the
//!   run is incomplete even where no configured rule needed the data.
//! - Account text is kept as XML parsers read it, but characters that could drive a
//!   terminal are character references (`&#x202E;`), so that `cat` of the file is safe
//!   ([`terminal_safe`]).

use std::fmt::Write as _;

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
        "\nresource: {}\nseverity: {}\nid: {}\nscope: {}",
        f.resource,
        f.severity.as_str(),
        f.id,
        f.scope.as_str()
    ));
    if let Some(c) = &f.cause {
        body.push_str(&format!("\nfollows from: {}", c.id()));
    }
    if let Some(new) = f.new {
        body.push_str(if new {
            "\nbaseline: new"
        } else {
            "\nbaseline: unchanged"
        });
    }
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

/// The JUnit report of one target whose rules are `rule_order` (targets.json order).
pub fn report(report: &TargetReport, rule_order: &[&str]) -> Report {
    let mut out = Report::new(format!("cloudkestrel {}", report.target));
    if let Some(t) = report.collected_at {
        out.set_timestamp(t.fixed_offset());
    }
    let mut suites: Vec<TestSuite> = rule_order.iter().map(|r| TestSuite::new(*r)).collect();
    // Results come grouped by rule: the suite of the previous result is nearly always
    // the one; a rule outside `rule_order` gets a suite of its own, after the others.
    let mut at = 0;
    for f in &report.results {
        if suites.get(at).is_none_or(|s| s.name.as_str() != f.rule) {
            at = match suites.iter().position(|s| s.name.as_str() == f.rule) {
                Some(i) => i,
                None => {
                    suites.push(TestSuite::new(f.rule));
                    suites.len() - 1
                }
            };
        }
        suites[at].add_test_case(case(
            f,
            &format!("cloudkestrel.{}.{}", report.target, f.rule),
        ));
    }
    if !report.problems.is_empty() {
        let mut suite = TestSuite::new("collection");
        for (i, p) in report.problems.iter().enumerate() {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(p.to_string())
                .set_type(p.error_code.clone())
                .set_description(p.to_string());
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
pub fn to_xml(r: &TargetReport, rule_order: &[&str]) -> Result<String, String> {
    report(r, rule_order)
        .to_string()
        .map(terminal_safe)
        .map_err(|e| e.to_string())
}

/// The XML with every character that could drive a terminal or reorder a line
/// ([`crate::untrusted::is_unsafe`]) written as a character reference: the same
/// document to any XML parser, safe to print. `quick-junit` already drops ANSI
/// escapes and what a terminal executes (C0 and C1 controls but the line feed); what
/// it keeps and this rewrites is DEL, the bidi controls and the line and paragraph
/// separators. Line feeds stay: the layout's and the messages'. Markup is ASCII, so
/// only text and attribute values change.
fn terminal_safe(xml: String) -> String {
    let unsafe_here = |c: char| c != '\n' && crate::untrusted::is_unsafe(c);
    if !xml.contains(unsafe_here) {
        return xml;
    }
    let mut out = String::with_capacity(xml.len() + 64);
    for c in xml.chars() {
        if unsafe_here(c) {
            let _ = write!(out, "&#x{:X};", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Check, Severity};

    /// Hostile account text reaches the file as character references that a parser
    /// reads back as the same text; nothing in the file can drive a terminal.
    #[test]
    fn account_text_is_terminal_safe_and_reads_back() {
        let hostile = "a\u{202e}b\u{9b}31m\rc\td\u{2028}e\u{7f}";
        let f = Finding::new(
            "IAM_USER_MFA_ENABLED",
            Check::Local,
            format!("arn:aws:iam::123456789012:user/{hostile}"),
            hostile,
            Status::Fail,
            Severity::High,
            format!("{hostile} has no MFA device"),
        );
        let xml = to_xml(
            &TargetReport::of_results_in(vec![f], &["IAM_USER_MFA_ENABLED"]),
            &[],
        )
        .unwrap();
        assert!(
            !xml.contains(|c: char| c != '\n' && crate::untrusted::is_unsafe(c)),
            "{xml:?}"
        );
        // quick-junit drops what a terminal would execute (the C1 CSI, CR, TAB); what
        // it keeps that could still reorder or hide text is a character reference.
        assert!(xml.contains("a&#x202E;b31mcd&#x2028;e&#x7F;"), "{xml}");
        // Read back by an XML parser (quick-junit's own reader knows no character
        // references in text): the same strings.
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let kept = "a\u{202e}b31mcd\u{2028}e\u{7f}";
        let case = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase"))
            .unwrap();
        assert_eq!(
            case.attribute("name"),
            Some(format!("local arn:aws:iam::123456789012:user/{kept}").as_str())
        );
        let failure = case.children().find(|n| n.has_tag_name("failure")).unwrap();
        assert!(failure
            .text()
            .unwrap()
            .starts_with(&format!("{kept} has no MFA device\n")));
    }

    /// One suite per configured rule, in targets.json order, a rule without results
    /// included; a result of a rule outside the order gets a suite after them.
    #[test]
    fn one_suite_per_configured_rule() {
        let f = |rule: &'static str, name: &str| {
            Finding::new(
                rule,
                Check::Local,
                format!("arn:aws:iam::123456789012:user/{name}"),
                name,
                Status::Pass,
                Severity::Low,
                "ok".to_string(),
            )
        };
        let results = vec![f("B", "x"), f("B", "y"), f("A", "x"), f("Z", "x")];
        let r = report(
            &TargetReport::of_results_in(results, &["B", "C", "A"]),
            &["B", "C", "A"],
        );
        let suites: Vec<(&str, usize)> = r
            .test_suites
            .iter()
            .map(|s| (s.name.as_str(), s.test_cases.len()))
            .collect();
        assert_eq!(suites, [("B", 2), ("C", 0), ("A", 1), ("Z", 1)]);
    }
}
