//! The account-level half of a report's headline, in words: what the account's setup
//! lacks, one item per kind ("Force_MFA missing (1002 users not covered)", "7 rules not
//! deployed"), for the terminal and the HTML report. The resource half is a count
//! ([`super::Summary::resource`]); this half is a list of things to do, because one
//! missing policy is one thing to do however many users it leaves uncovered.
//!
//! Only failures no suppression accepts make an item; accepted ones are counted as
//! `suppressed`. The words are CloudKestrel's own and rule names: no account text.

use super::TargetReport;
use crate::rules::{AccountState, Check, Scope, Status};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountHeadline {
    /// Whether the report has account-level results at all.
    pub checked: bool,
    /// Account-level errors (never suppressed).
    pub error: usize,
    /// Policy rules whose policy the account does not have, in report order, with the
    /// users whose `attached` failure follows from that.
    pub missing_policies: Vec<(&'static str, usize)>,
    /// Policy rules whose policy is not CloudKestrel's.
    pub differing_policies: Vec<&'static str>,
    /// Config rules not deployed (or without a recording recorder) where needed.
    pub not_deployed: Vec<&'static str>,
    /// Config rules deployed but never evaluated: the recorder does not record their
    /// types.
    pub not_recorded: Vec<&'static str>,
    /// Account_Setup's failures: expected groups or attachments missing.
    pub setup: usize,
    /// Account-level failures a suppression accepts (none of the items above).
    pub suppressed: usize,
    /// With a baseline: account-level failures it does not have.
    pub new: Option<usize>,
    /// The failures counted in `missing_policies`: not findings of their own.
    pub following: usize,
}

impl AccountHeadline {
    pub fn of(report: &TargetReport) -> Self {
        let mut h = AccountHeadline {
            new: report.summary.account.new,
            ..AccountHeadline::default()
        };
        for f in report.results.iter().filter(|f| f.scope == Scope::Account) {
            h.checked = true;
            match f.status {
                Status::Pass => continue,
                Status::Error => {
                    h.error += 1;
                    continue;
                }
                Status::Fail if f.suppressed.is_some() => {
                    h.suppressed += 1;
                    continue;
                }
                Status::Fail => {}
            }
            if f.cause.is_some() {
                h.following += 1;
                h.missing_policy(f.rule).1 += 1;
                continue;
            }
            match (f.check, f.state) {
                (Check::PolicyDocument, Some(AccountState::PolicyMissing)) => {
                    h.missing_policy(f.rule);
                }
                (Check::PolicyDocument, _) => h.differing_policies.push(f.rule),
                (Check::Deployed, Some(AccountState::NotRecorded)) => h.not_recorded.push(f.rule),
                (Check::Deployed, _) => h.not_deployed.push(f.rule),
                _ => h.setup += 1,
            }
        }
        h
    }

    fn missing_policy(&mut self, rule: &'static str) -> &mut (&'static str, usize) {
        let i = match self.missing_policies.iter().position(|(r, _)| *r == rule) {
            Some(i) => i,
            None => {
                self.missing_policies.push((rule, 0));
                self.missing_policies.len() - 1
            }
        };
        &mut self.missing_policies[i]
    }

    /// Whether something in the account's setup is to fix (errors apart).
    pub fn to_fix(&self) -> bool {
        !self.missing_policies.is_empty()
            || !self.differing_policies.is_empty()
            || !self.not_deployed.is_empty()
            || !self.not_recorded.is_empty()
            || self.setup > 0
    }

    /// The items, most pressing first: errors, missing and differing policies, rules
    /// not deployed or not evaluated, setup gaps, then what triage says. "as expected"
    /// when there is nothing to say, "not checked" without account-level results.
    pub fn items(&self) -> Vec<Item> {
        let n = |count: usize, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        let mut out = Vec::new();
        let mut say = |kind, text: String| out.push(Item { kind, text });
        if self.error > 0 {
            say("error", n(self.error, "error", "errors"));
        }
        for (rule, users) in &self.missing_policies {
            say(
                "fail",
                match users {
                    0 => format!("{rule} missing"),
                    _ => format!(
                        "{rule} missing ({} not covered)",
                        n(*users, "user", "users")
                    ),
                },
            );
        }
        for rule in &self.differing_policies {
            say("fail", format!("{rule} differs"));
        }
        if !self.not_deployed.is_empty() {
            say(
                "fail",
                n(self.not_deployed.len(), "rule", "rules") + " not deployed",
            );
        }
        if !self.not_recorded.is_empty() {
            let count = self.not_recorded.len();
            say(
                "fail",
                format!(
                    "{} not evaluated ({} types are not recorded)",
                    n(count, "rule", "rules"),
                    if count == 1 { "its" } else { "their" }
                ),
            );
        }
        if self.setup > 0 {
            say(
                "fail",
                n(
                    self.setup,
                    "expected group or attachment missing",
                    "expected groups or attachments missing",
                ),
            );
        }
        if self.suppressed > 0 {
            say("suppressed", format!("{} suppressed", self.suppressed));
        }
        if let Some(new) = self.new.filter(|n| *n > 0) {
            say("new", format!("{new} new"));
        }
        if out.is_empty() {
            out.push(match self.checked {
                true => Item {
                    kind: "pass",
                    text: "as expected".into(),
                },
                false => Item {
                    kind: "none",
                    text: "not checked".into(),
                },
            });
        }
        out
    }

    /// The items' words, joined: the terminal's account half.
    pub fn words(&self) -> String {
        let texts: Vec<String> = self.items().into_iter().map(|i| i.text).collect();
        texts.join(", ")
    }
}

/// One item of the headline: its words, and the kind of thing it says as a CSS class
/// word of the HTML report (`error`, `fail`, `suppressed`, `new`, `pass` or `none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: &'static str,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Finding, Severity};

    fn result(rule: &'static str, check: Check, user: &str, status: Status) -> Finding {
        Finding::new(
            rule,
            check,
            format!("arn:aws:iam::123456789012:user/{user}"),
            user,
            status,
            Severity::High,
            "m",
        )
    }

    /// One missing policy is one item, however many users it leaves uncovered; each
    /// other kind of gap is an item; suppressed ones are counted apart.
    #[test]
    fn items_say_what_to_do_once() {
        let policy = "arn:aws:iam::123456789012:policy/Force_MFA";
        let mut results = vec![
            result("Force_MFA", Check::PolicyDocument, "p", Status::Fail)
                .in_state(AccountState::PolicyMissing),
        ];
        let cause = crate::rules::Cause::new(Check::PolicyDocument, policy.into());
        for u in ["alice", "bob", "carol"] {
            results.push(result("Force_MFA", Check::Attached, u, Status::Fail).follows(&cause));
        }
        results.push(
            result("IAM_USER_MFA_ENABLED", Check::Deployed, "a", Status::Fail)
                .in_state(AccountState::NotRecorded),
        );
        results.push(result(
            "IAM_USER_MFA_ENABLED",
            Check::Local,
            "bob",
            Status::Fail,
        ));
        let mut setup = result("Account_Setup", Check::Setup, "g", Status::Fail);
        setup.suppressed = Some(std::sync::Arc::new(crate::triage::suppressions::Applied {
            reason: "r".into(),
            expires: chrono::NaiveDate::from_ymd_opt(2999, 1, 1).unwrap(),
            owner: None,
        }));
        results.push(setup);
        let h = AccountHeadline::of(&TargetReport::of_results(results));
        assert_eq!(
            h.words().split(", ").collect::<Vec<_>>(),
            [
                "Force_MFA missing (3 users not covered)",
                "1 rule not evaluated (its types are not recorded)",
                "1 suppressed"
            ]
        );
        assert_eq!((h.following, h.to_fix()), (3, true));

        let clean = AccountHeadline::of(&TargetReport::of_results(vec![result(
            "IAM_USER_MFA_ENABLED",
            Check::Deployed,
            "a",
            Status::Pass,
        )
        .in_state(AccountState::Deployed)]));
        assert_eq!(
            (clean.words().as_str(), clean.to_fix()),
            ("as expected", false)
        );
        assert_eq!(clean.items()[0].kind, "pass");
        let none = AccountHeadline::of(&TargetReport::of_results(vec![result(
            "IAM_USER_MFA_ENABLED",
            Check::Local,
            "bob",
            Status::Error,
        )]));
        assert_eq!(none.words(), "not checked");
    }
}
