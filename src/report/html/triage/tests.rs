//! The triage parts of the HTML report, rendered one by one.

use std::sync::Arc;

use chrono::NaiveDate;
use horrorshow::html;

use super::*;
use crate::rules::Check;
use crate::triage::baseline::Fixed;
use crate::triage::{BaselineSummary, SuppressionsSummary};

fn render(part: impl RenderOnce) -> String {
    html! { : part; }.into_string().unwrap()
}

fn applied(reason: &str, owner: Option<&str>) -> Arc<Applied> {
    Arc::new(Applied {
        reason: reason.into(),
        expires: NaiveDate::from_ymd_opt(2027, 6, 30).unwrap(),
        owner: owner.map(Into::into),
    })
}

fn report(statuses: &[(Status, bool)]) -> TargetReport {
    let results = statuses
        .iter()
        .enumerate()
        .map(|(i, (status, suppressed))| {
            let mut f = Finding::new(
                "IAM_USER_MFA_ENABLED",
                Check::Local,
                format!("arn:aws:iam::123456789012:user/u{i}"),
                format!("u{i}"),
                *status,
                Severity::High,
                "m",
            );
            if *suppressed {
                f.suppressed = Some(applied("accepted", None));
            }
            f
        })
        .collect();
    TargetReport::of_results(results)
}

/// Only a failure no suppression accepts is a finding to fix; an error outranks all.
#[test]
fn the_verdict_counts_only_failures_to_fix() {
    use Status::*;
    type Case<'a> = (&'a [(Status, bool)], &'a str, &'a str);
    let cases: [Case; 5] = [
        (&[(Pass, false)], "pass", "Every check passed"),
        (
            &[(Pass, false), (Fail, true)],
            "pass",
            "No findings to fix: every failure is suppressed",
        ),
        (&[(Fail, true), (Fail, false)], "fail", "Findings to fix"),
        (
            &[(Fail, true), (Error, false)],
            "error",
            "Not fully audited: some data could not be collected or read",
        ),
        (&[], "pass", "Every check passed"),
    ];
    for (statuses, class, text) in cases {
        assert_eq!(verdict(&report(statuses)), (class, text), "{statuses:?}");
    }
    let r = report(&[(Pass, false), (Fail, true), (Fail, true), (Fail, false)]);
    let account = crate::report::headline::AccountHeadline::of(&r);
    let counts = render(super::super::scope::headline_counts(&r, &account));
    assert!(
        counts.contains(">1 failed<") && counts.contains(">2 suppressed<"),
        "{counts}"
    );
    let list: Vec<&Finding> = r.results.iter().collect();
    let of = |list: &[&Finding]| {
        let mut c = Counts::default();
        list.iter().for_each(|r| c.add(r));
        c
    };
    let c = of(&list);
    assert_eq!(
        (c.pass, c.fail, c.suppressed, c.error, c.new),
        (1, 1, 2, 0, 0)
    );
    assert_eq!(c.worst(), "fail");
    assert_eq!(of(&list[..3]).worst(), "suppressed");
}

/// A suppressions file's and a baseline's text is escaped, controls marked.
#[test]
fn triage_text_is_escaped() {
    let note = render(suppression_note(&applied(
        "<b>SEC-142</b> & \u{202e}gnp.exe",
        Some("<i>web</i>"),
    )));
    assert!(
        note.contains("&lt;b&gt;SEC-142&lt;/b&gt; &amp; <mark class=\"cc\"")
            && note.contains("&lt;i&gt;web&lt;/i&gt;")
            && note.contains("datetime=\"2027-06-30\"")
            && !note.contains("<b>")
            && !note.contains('\u{202e}'),
        "{note}"
    );
    let hostile = "arn:aws:s3:::<script>x</script>";
    let entry = SuppressionEntry {
        index: 0,
        line: 3,
        rule: "*".into(),
        resource: hostile.into(),
        check: Some("local"),
        reason: "<img src=x>".into(),
        expires: "2020-01-31".into(),
        owner: None,
        matched: 2,
    };
    let mut r = report(&[(Status::Pass, false)]);
    r.suppressions = Some(SuppressionsSummary {
        file: "<f>.json".into(),
        expired: vec![entry.clone()],
        unused: vec![entry],
    });
    r.baseline = Some(BaselineSummary {
        file: "b&.json".into(),
        found: true,
        complete: false,
    });
    r.fixed = Some(vec![Fixed {
        id: Default::default(),
        rule: "R".into(),
        check: "local".into(),
        resource: hostile.into(),
        resource_name: "<script>x</script>".into(),
        now: "gone",
    }]);
    let page = render(section(&r)) + &render(meta_rows(&r));
    assert!(!page.contains("<script>") && !page.contains("<img") && !page.contains("<f>"));
    for part in [
        "&lt;f&gt;.json:3",
        "&lt;img src=x&gt;",
        "b&amp;.json",
        "not fully audited",
        "Failing again",
        "badge gone",
    ] {
        assert!(page.contains(part), "{part}: {page}");
    }
    // Neither a suppressions file nor a baseline: no section at all.
    assert_eq!(render(section(&report(&[(Status::Pass, false)]))), "");
}

/// A severity set in targets.json says so, and what the rule's own is.
#[test]
fn an_overridden_severity_says_so() {
    let meta = crate::rules::find("IAM_USER_MFA_ENABLED").unwrap().meta();
    let own = render(rule_severity(meta, meta.severity));
    assert!(own.contains(meta.severity_reason) && !own.contains("targets.json"));
    let other = Severity::ALL
        .into_iter()
        .find(|s| *s != meta.severity)
        .unwrap();
    let set = render(rule_severity(meta, other));
    assert!(
        set.contains(&format!(
            "Set to {} for this target in targets.json; the rule's own is {}.",
            other.as_str(),
            meta.severity.as_str()
        )),
        "{set}"
    );
}
