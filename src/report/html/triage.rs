//! The HTML report's view of triage: severities, suppressed and new failures, the
//! verdict that counts only failures to fix, and the section on the suppressions file
//! (expired, unused) and the baseline (which, what is fixed since).
//!
//! Everything here but the words of CloudKestrel's own is account or file text: the
//! suppressions file's reasons, owners and globs, the baseline's resources. All of it
//! goes through [`Esc`].

use horrorshow::owned_html;
use horrorshow::prelude::*;

use super::esc::Esc;
use crate::report::TargetReport;
use crate::rules::{self, Finding, Severity, Status};
use crate::triage::suppressions::Applied;
use crate::triage::SuppressionEntry;

/// The counts of one rule's results (or a whole report's): `fail` counts the failures
/// to fix, those no suppression accepts; `suppressed` the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub suppressed: usize,
    pub error: usize,
    /// Failures the baseline does not have, suppressed or not.
    pub new: usize,
}

impl Counts {
    /// Counts one more result.
    pub fn add(&mut self, r: &Finding) {
        match r.status {
            Status::Pass => self.pass += 1,
            Status::Error => self.error += 1,
            Status::Fail if r.suppressed.is_some() => self.suppressed += 1,
            Status::Fail => self.fail += 1,
        }
        self.new += usize::from(r.new == Some(true));
    }

    /// The worst of the results, as a badge's class and word: an error, a failure to
    /// fix, then a failure every one of which is suppressed, then a pass.
    pub fn worst(&self) -> &'static str {
        if self.error > 0 {
            "error"
        } else if self.fail > 0 {
            "fail"
        } else if self.suppressed > 0 {
            "suppressed"
        } else {
            "pass"
        }
    }
}

/// The verdict line: its class and text. Suppressed failures are not findings to fix.
pub(super) fn verdict(report: &TargetReport) -> (&'static str, &'static str) {
    let s = report.summary.total;
    if !report.fully_audited() {
        (
            "error",
            "Not fully audited: some data could not be collected or read",
        )
    } else if report.summary.resource.to_fix() > 0 {
        ("fail", "Findings to fix")
    } else if s.to_fix() > 0 {
        (
            "fail",
            "Findings to fix in the account's setup; none about resources",
        )
    } else if s.suppressed > 0 {
        ("pass", "No findings to fix: every failure is suppressed")
    } else {
        ("pass", "Every check passed")
    }
}

/// The header's lines on the suppressions file and the baseline.
pub(super) fn meta_rows(report: &TargetReport) -> impl RenderOnce + '_ {
    owned_html! {
        @ if let Some(s) = &report.suppressions {
            dt : "Suppressions";
            dd { code : Esc(&s.file); }
        }
        @ if let Some(b) = &report.baseline {
            dt : "Baseline";
            dd(class = "baseline") {
                code : Esc(&b.file);
                : " — ";
                : baseline_state(b);
            }
        }
    }
}

fn baseline_state(b: &crate::triage::BaselineSummary) -> &'static str {
    match (b.found, b.complete) {
        (false, _) => "no report of this target there: every failure counts as new",
        (true, false) => "not fully audited: failures it could not decide count as new",
        (true, true) => "found, fully audited",
    }
}

/// The CSS classes of a result's row: its status, and whether it is suppressed or new.
pub(super) fn row_class(r: &Finding) -> &'static str {
    match (r.status, r.suppressed.is_some(), r.new == Some(true)) {
        (Status::Pass, ..) => "result pass",
        (Status::Error, ..) => "result error",
        (Status::Fail, true, true) => "result fail suppressed new",
        (Status::Fail, true, false) => "result fail suppressed",
        (Status::Fail, false, true) => "result fail new",
        (Status::Fail, false, false) => "result fail",
    }
}

/// A severity badge (its class and word are ours); `why` as its tooltip.
pub(super) fn severity_badge(severity: Severity, why: &'static str) -> impl RenderOnce {
    owned_html! {
        span(class = Raw(severity_class(severity)), title = why) : Raw(severity.as_str());
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "sev critical",
        Severity::High => "sev high",
        Severity::Medium => "sev medium",
        Severity::Low => "sev low",
    }
}

/// A result's badges: its status, then for a failure or an error its severity, then
/// whether it is new or suppressed. Our own constants, written as they are.
pub(super) fn result_badges(r: &Finding) -> impl RenderOnce + '_ {
    owned_html! {
        span(class = Raw(status_badge(r.status))) : Raw(r.status.as_str());
        @ if r.status != Status::Pass {
            : Raw(" ");
            span(class = Raw(severity_class(r.severity))) : Raw(r.severity.as_str());
        }
        @ if r.new == Some(true) {
            : Raw(" ");
            span(class = "badge new", title = "not in the baseline") : Raw("new");
        }
        @ if r.suppressed.is_some() {
            : Raw(" ");
            span(class = "badge suppressed") : Raw("suppressed");
        }
    }
}

fn status_badge(status: Status) -> &'static str {
    match status {
        Status::Pass => "badge pass",
        Status::Fail => "badge fail",
        Status::Error => "badge error",
    }
}

/// Why a suppressed failure is accepted, until when, and whose decision it is.
pub(super) fn suppression_note(s: &Applied) -> impl RenderOnce + '_ {
    let date = s.expires.format("%Y-%m-%d").to_string();
    owned_html! {
        div(class = "suppression") {
            span(class = "reason") : Esc(&s.reason);
            br;
            small {
                : "expires ";
                time(class = "expires", datetime = Raw(&date)) : Raw(&date);
                @ if let Some(owner) = &s.owner {
                    : " · owner ";
                    span(class = "owner") : Esc(owner);
                }
            }
        }
    }
}

/// A rule's severity for this target and why, saying so when targets.json overrides
/// the rule's own.
pub(super) fn rule_severity(meta: &'static rules::RuleMeta, severity: Severity) -> impl RenderOnce {
    owned_html! {
        p(class = "severity") {
            : severity_badge(severity, meta.severity_reason);
            : " severity: ";
            : meta.severity_reason;
            @ if severity != meta.severity {
                : format_args!(
                    " (Set to {} for this target in targets.json; the rule's own is {}.)",
                    severity.as_str(),
                    meta.severity.as_str()
                );
            }
        }
    }
}

/// The triage section: expired and unused suppressions, and what is fixed since the
/// baseline. Nothing when the run had neither a suppressions file nor a baseline.
pub(super) fn section(report: &TargetReport) -> impl RenderOnce + '_ {
    owned_html! {
        @ if report.suppressions.is_some() || report.baseline.is_some() {
            section(class = "triage", id = "triage") {
                h2 : "Triage";
                @ if let Some(s) = &report.suppressions {
                    p {
                        : format_args!("{} failure(s) accepted by suppressions in ", report.summary.total.suppressed);
                        code : Esc(&s.file);
                        : ": they stay failures, shown apart in each rule, and are not findings to fix.";
                    }
                    @ if !s.expired.is_empty() {
                        h3(id = "expired") : "Expired suppressions: the failures they match fail again";
                        : entries(&s.file, &s.expired, true);
                    }
                    @ if !s.unused.is_empty() {
                        h3(id = "unused") : "Unused suppressions: they match no failure of this target";
                        p : "Remove them, or check their Rule, Resource and Targets.";
                        : entries(&s.file, &s.unused, false);
                    }
                }
                @ if let Some(b) = &report.baseline {
                    p {
                        : "Compared with the baseline ";
                        code : Esc(&b.file);
                        : ": ";
                        : baseline_state(b);
                        : ". Failures it does not have are marked ";
                        span(class = "badge new") : "new";
                        : ".";
                    }
                    h3(id = "fixed") : "Fixed since the baseline";
                    : fixed(report.fixed.as_deref().unwrap_or_default());
                }
            }
        }
    }
}

/// Suppressions of the file as a table: where each is, what it matches, why, until
/// when; for expired ones, how many failures fail again.
fn entries<'a>(file: &'a str, list: &'a [SuppressionEntry], expired: bool) -> impl RenderOnce + 'a {
    let (class, until) = if expired {
        ("results entries expired", "Expired after")
    } else {
        ("results entries unused", "Expires")
    };
    owned_html! {
        table(class = class) {
            thead {
                tr {
                    th : "Where"; th : "Rule"; th : "Resource"; th : "Reason"; th : "Owner";
                    th : until;
                    @ if expired { th : "Failing again"; }
                }
            }
            tbody {
                @ for e in list {
                    tr(class = "entry") {
                        td { code { : Esc(file); : format_args!(":{}", e.line); } }
                        td {
                            code : Esc(&e.rule);
                            @ if let Some(c) = e.check { : " "; code : format_args!("({c})"); }
                        }
                        td(class = "resource") { code : Esc(&e.resource); }
                        td(class = "reason") : Esc(&e.reason);
                        td(class = "owner") : Esc(e.owner.as_deref().unwrap_or("—"));
                        td(class = "expires") : Esc(&e.expires);
                        @ if expired { td : e.matched; }
                    }
                }
            }
        }
    }
}

/// The baseline's failures that pass now or are gone.
fn fixed(list: &[crate::triage::baseline::Fixed]) -> impl RenderOnce + '_ {
    owned_html! {
        @ if list.is_empty() {
            p(class = "none") : "Nothing: every failure of the baseline still fails (or was not decided).";
        } else {
            table(class = "results fixed") {
                thead { tr { th : "Now"; th : "Rule"; th : "Check"; th : "Resource"; } }
                tbody {
                    @ for f in list {
                        tr(class = "entry") {
                            td { : now_badge(f.now); }
                            td { code : Esc(&f.rule); }
                            td { code : Esc(&f.check); }
                            td(class = "resource") {
                                strong : Esc(&f.resource_name);
                                br;
                                small : Esc(&f.resource);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn now_badge(now: &'static str) -> impl RenderOnce {
    let (class, title) = if now == "pass" {
        ("badge pass", "it passes now")
    } else {
        (
            "badge gone",
            "no such finding any more: the resource or the rule went away",
        )
    };
    owned_html! { span(class = class, title = title) : now; }
}

#[cfg(test)]
mod tests;
