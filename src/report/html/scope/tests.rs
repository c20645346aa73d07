//! The rules table, the rule sections and the headline, rendered and read back.

use std::sync::Arc;

use super::*;
use crate::rules::{AccountState, Check, Severity};

const ACCOUNT: &str = "arn:aws:iam::123456789012:root";

fn result(rule: &'static str, check: Check, resource: &str, status: Status) -> Finding {
    Finding::new(
        rule,
        check,
        resource.to_string(),
        resource.rsplit('/').next().unwrap_or(resource).to_string(),
        status,
        Severity::High,
        "m",
    )
}

fn users(rule: &'static str, check: Check, n: usize, status: Status) -> Vec<Finding> {
    (0..n)
        .map(|i| {
            result(
                rule,
                check,
                &format!("arn:aws:iam::123456789012:user/u{i:03}"),
                status,
            )
        })
        .collect()
}

fn page(results: Vec<Finding>) -> String {
    crate::report::html::render(&TargetReport::of_results(results)).unwrap()
}

/// The rules table's row of `rule`.
fn toc_row<'a>(page: &'a str, rule: &str) -> &'a str {
    let toc = &page[page.find("<table class=\"toc\">").unwrap()..];
    let toc = &toc[..toc.find("</table>").unwrap()];
    let at = toc.find(&format!(">{rule}</a>")).unwrap();
    let start = toc[..at].rfind("<tr>").unwrap();
    let end = at + toc[at..].find("</tr>").unwrap();
    &toc[start..end]
}

/// The `<td>` cells of a row, their inner HTML.
fn cells(row: &str) -> Vec<&str> {
    row.split("<td")
        .skip(1)
        .map(|c| {
            let inner = &c[c.find('>').unwrap() + 1..];
            &inner[..inner.rfind("</td>").unwrap()]
        })
        .collect()
}

/// A Config rule with 500 local passes and its AWS Config rule not deployed: the
/// resource verdict is `pass` over the 500, the setup says `not deployed`, apart.
#[test]
fn a_rule_not_deployed_with_every_resource_passing() {
    let rule = "IAM_USER_MFA_ENABLED";
    let mut results =
        vec![result(rule, Check::Deployed, ACCOUNT, Status::Fail)
            .in_state(AccountState::NotDeployed)];
    results.extend(users(rule, Check::Local, 500, Status::Pass));
    let page = page(results);
    let row = toc_row(&page, rule);
    let c = cells(row);
    assert_eq!(c[2], "<span class=\"badge pass\">pass</span>", "{row}");
    assert_eq!(&c[3..6], ["500", "0", "0"], "pass, fail, error: {row}");
    assert!(
        c[6].contains("<span class=\"badge fail\">not deployed</span>")
            && c[6].contains("href=\"#f-"),
        "{row}"
    );
    assert!(!row.contains("badge fail\">fail<"), "{row}");
    // The rule's section: the same apart; the headline: 500 passed about resources,
    // the rule not deployed in the account's setup.
    let section = &page[page.find("<section class=\"rule\"").unwrap()..];
    assert!(
        section.starts_with(
            "<section class=\"rule\" id=\"rule-iam-user-mfa-enabled\"><h2><span class=\"badge pass\">pass</span> <span class=\"setup\"><a href=\"#f-"
        ),
        "{section}"
    );
    assert!(section[..section.find("</h2>").unwrap()].contains(">not deployed</span>"));
    assert!(section.contains(
        "Resources: 500 passed · 0 failed · 0 errors. <span class=\"setup\">Account setup: "
    ));
    for part in [
        "<span class=\"count pass\">500 passed</span>",
        ">0 failed</span>",
        "<span class=\"count fail\">1 rule not deployed</span>",
        "Findings to fix in the account's setup; none about resources",
    ] {
        assert!(page.contains(part), "{part}");
    }
}

/// A missing policy: its users' failures follow from the policy-document one, so the
/// rule has nothing about resources; the setup says the policy is missing and how many
/// users it leaves uncovered, and each follower links to its cause.
#[test]
fn a_missing_policy_with_its_users() {
    let rule = "Force_MFA";
    let policy = "arn:aws:iam::123456789012:policy/Force_MFA";
    let mut results = vec![result(rule, Check::PolicyDocument, policy, Status::Fail)
        .in_state(AccountState::PolicyMissing)];
    let cause = crate::rules::Cause::new(Check::PolicyDocument, policy.into());
    results.extend(
        users(rule, Check::Attached, 3, Status::Fail)
            .into_iter()
            .map(|f| f.follows(&cause)),
    );
    let page = page(results);
    let c = cells(toc_row(&page, rule));
    assert!(c[2].contains(">—<"), "{c:?}");
    assert_eq!(&c[3..6], ["0", "0", "0"]);
    assert!(
        c[6].contains("<span class=\"badge fail\">policy missing</span></a> (3 users not covered)"),
        "{c:?}"
    );
    assert_eq!(page.matches("Follows from <a href=\"#f-").count(), 3);
    assert!(
        page.contains("<span class=\"count fail\">Force_MFA missing (3 users not covered)</span>")
    );
    assert!(page.contains("<small class=\"scope\""));
    // Atop the section: no verdict about resources, the policy missing.
    assert!(page.contains("<h2><span class=\"setup\"><a href=\"#f-"));
}

/// Account_Setup: several results of one check; an error outranks; every failure
/// suppressed is grey.
#[test]
fn the_setup_of_several_results() {
    let rule = "Account_Setup";
    let group = |n: &str| format!("arn:aws:iam::123456789012:group/{n}");
    let two_missing = page(vec![
        result(rule, Check::Setup, &group("DevOps"), Status::Fail).about("Force_MFA"),
        result(rule, Check::Setup, &group("DevOps"), Status::Fail)
            .about("User_Source_IP_Restrictions"),
        result(rule, Check::Setup, &group("SecurityAudit"), Status::Pass).about("Config_Write"),
    ]);
    let c = cells(toc_row(&two_missing, rule));
    assert_eq!(c[6], "<span class=\"badge fail\">2 missing</span>", "{c:?}");
    let fine = page(vec![result(
        rule,
        Check::Setup,
        &group("DevOps"),
        Status::Pass,
    )]);
    assert!(
        cells(toc_row(&fine, rule))[6].contains("<span class=\"badge pass\">as expected</span>")
    );
    let error = page(vec![
        result(rule, Check::Setup, &group("DevOps"), Status::Fail).about("Force_MFA"),
        result(rule, Check::Setup, ACCOUNT, Status::Error),
    ]);
    assert!(cells(toc_row(&error, rule))[6].contains("<span class=\"badge error\">error</span>"));
    let mut accepted = result(
        "IAM_USER_MFA_ENABLED",
        Check::Deployed,
        ACCOUNT,
        Status::Fail,
    )
    .in_state(AccountState::NotDeployed);
    accepted.suppressed = Some(Arc::new(crate::triage::suppressions::Applied {
        reason: "no AWS Config here".into(),
        expires: chrono::NaiveDate::from_ymd_opt(2999, 1, 1).unwrap(),
        owner: None,
    }));
    let suppressed = page(vec![accepted]);
    assert!(
        cells(toc_row(&suppressed, "IAM_USER_MFA_ENABLED"))[7]
            .contains("<span class=\"badge suppressed\">not deployed</span>"),
        "{suppressed}"
    );
}
