//! The HTML report's view of scopes ([`crate::rules::scope`]): the headline's counts of
//! findings about resources apart from what the account's setup lacks, and for each
//! rule, in the rules table and atop its section, the verdict over its results about
//! resources beside the state of the setup it needs (deployed, not deployed, not
//! recorded; policy identical, differs, missing; the expected groups), instead of one
//! `fail` for a rule with 500 passes and a rule not deployed.
//!
//! Only CloudKestrel's own words and numbers are written here.

use horrorshow::owned_html;
use horrorshow::prelude::*;

use super::triage::Counts;
use crate::report::headline::AccountHeadline;
use crate::report::TargetReport;
use crate::rules::{Finding, Scope, Status};

/// One rule's results split by scope.
pub(super) struct RuleScopes<'a> {
    /// The counts of its results about resources.
    pub resource: Counts,
    /// Whether it has results about resources at all (Account_Setup has none).
    pub has_resource: bool,
    /// Its account-level results that say something themselves (not the failures that
    /// follow from another).
    setup: Vec<&'a Finding>,
    /// Its failures that follow from another: users who cannot have a missing policy.
    following: usize,
    /// Whether one of its account-level failures is new.
    new: bool,
}

impl<'a> RuleScopes<'a> {
    /// In one pass, without copying the list: it runs twice per rule (the table and the
    /// section), over every result.
    pub fn of(list: &[&'a Finding]) -> Self {
        let mut s = RuleScopes {
            resource: Counts::default(),
            has_resource: false,
            setup: Vec::new(),
            following: 0,
            new: false,
        };
        for r in list {
            match r.scope {
                Scope::Resource => {
                    s.has_resource = true;
                    s.resource.add(r);
                }
                Scope::Account => {
                    s.new |= r.new == Some(true);
                    match r.cause {
                        Some(_) => s.following += 1,
                        None => s.setup.push(r),
                    }
                }
            }
        }
        s
    }

    /// The verdict over the results about resources, as a badge ("—" without any).
    pub fn resource_badge(&self) -> impl RenderOnce + '_ {
        let w = self.resource.worst();
        owned_html! {
            @ if self.has_resource {
                span(class = format_args!("badge {w}")) : w;
            } else {
                span(class = "none", title = "no result of this rule is about a resource") : "—";
            }
        }
    }

    /// The badges atop the rule's section: the verdict over its results about
    /// resources, then the state of the setup unless it is as it should be (a rule
    /// whose users all pass but whose policy is missing is not shown as a pass).
    pub fn heading_badge(&self) -> impl RenderOnce + '_ {
        let setup_fine = self.state().0 == "pass" && !self.new;
        owned_html! {
            @ if self.has_resource {
                : self.resource_badge();
            }
            @ if !self.has_resource || !setup_fine {
                @ if self.has_resource { : " "; }
                span(class = "setup") : self.setup_state();
            }
        }
    }

    /// The state of the setup: one badge (a link to the result that says it, when one
    /// does), how many users cannot have a missing policy, and whether it is new.
    pub fn setup_state(&self) -> impl RenderOnce + '_ {
        let (class, word) = self.state();
        let link = match self.setup.as_slice() {
            [one] => Some(super::row_id(one)),
            _ => None,
        };
        owned_html! {
            @ if let Some(id) = &link {
                a(href = format_args!("#{id}")) { span(class = format_args!("badge {class}")) : word; }
            } else {
                span(class = format_args!("badge {class}")) : word;
            }
            @ if self.following > 0 {
                : format_args!(" ({} {} not covered)", self.following, if self.following == 1 { "user" } else { "users" });
            }
            @ if self.new {
                : " ";
                span(class = "badge new", title = "not in the baseline") : "new";
            }
        }
    }

    /// The badge's class and word: an error outranks all; then what a single result
    /// says (its [`crate::rules::AccountState`]), or for several (Account_Setup's
    /// expected attachments) how many are missing; grey when every failure is
    /// suppressed.
    fn state(&self) -> (&'static str, String) {
        if self.setup.is_empty() {
            return ("none", "—".into());
        }
        if self.setup.iter().any(|r| r.status == Status::Error) {
            return ("error", "error".into());
        }
        let to_fix = self
            .setup
            .iter()
            .filter(|r| r.unsuppressed_failure())
            .count();
        let failed = self.setup.iter().any(|r| r.status == Status::Fail);
        let class = match (to_fix, failed) {
            (0, false) => "pass",
            (0, true) => "suppressed",
            _ => "fail",
        };
        let single = match self.setup.as_slice() {
            [one] => one.state,
            _ => None,
        };
        let word = match single {
            Some(state) => state.as_str().into(),
            None if to_fix > 0 => format!("{to_fix} missing"),
            None if failed => "suppressed".into(),
            None => "as expected".into(),
        };
        (class, word)
    }
}

/// The headline's counts: the findings about resources (passed, failed to fix,
/// suppressed, errors, new), then what the account's setup lacks, one item each
/// ([`AccountHeadline`]), then with a baseline how many failures are fixed.
pub(super) fn headline_counts<'a>(
    report: &'a TargetReport,
    account: &'a AccountHeadline,
) -> impl RenderOnce + 'a {
    let s = report.summary.resource;
    let fixed = report.fixed.as_ref().map(Vec::len);
    let items = account.items();
    owned_html! {
        div(class = "scope-counts resource") {
            span(class = "label") : "Resources:";
            span(class = "count pass") : format_args!("{} passed", s.pass);
            span(class = "count fail", title = "failures about resources no suppression accepts") :
                format_args!("{} failed", s.to_fix());
            @ if report.summary.total.suppressed > 0 || report.suppressions.is_some() {
                span(class = "count suppressed", title = "failures a suppression accepts: not counted as findings to fix") :
                    format_args!("{} suppressed", s.suppressed);
            }
            span(class = "count error") : format_args!("{} errors", s.error);
            @ if let Some(new) = s.new {
                span(class = "count new", title = "failures the baseline does not have (suppressed ones included)") :
                    format_args!("{new} new");
            }
        }
        div(class = "scope-counts account") {
            span(class = "label", title = "CloudKestrel's policies, AWS Config rules and the expected groups; users who cannot have a missing policy are counted with it") :
                "Account setup:";
            @ for i in &items {
                span(class = format_args!("count {}", i.kind)) : &i.text;
            }
        }
        @ if let Some(fixed) = fixed {
            a(class = "count fixed", href = "#fixed", title = "failures of the baseline that pass now or are gone") :
                format_args!("{fixed} fixed");
        }
    }
}

#[cfg(test)]
mod tests;
