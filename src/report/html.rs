//! The HTML report: one self-contained file (CSS and JS from templates/ are embedded),
//! readable offline and safe to forward. Every value that comes from the account goes
//! through horrorshow's escaping ([`esc`]); only our own words and embedded assets are
//! written raw. Triage (severities, suppressed and new failures, the suppressions file
//! and the baseline) is drawn by [`triage`].

use horrorshow::helper::doctype;
use horrorshow::prelude::*;
use horrorshow::{html, owned_html};

mod doc;
mod esc;
mod scope;
mod triage;

use esc::{Esc, EscJoined};
use scope::RuleScopes;

use super::TargetReport;
use crate::report::headline::AccountHeadline;
use crate::rules::{self, Check, Finding, Scope, Status};

const CSS: &str = include_str!("../../templates/report.css");
const JS: &str = include_str!("../../templates/report.js");

/// Every registered rule's documentation as HTML, by rule name, rendered once per
/// process ([`doc`]): it is the same in every report, and rendering it again for each
/// was half of the HTML report's time at scale (issue 5).
fn rendered_docs() -> &'static [(&'static str, String)] {
    static DOCS: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        rules::RULES
            .iter()
            .map(|r| {
                let m = r.meta();
                (m.name, doc::to_html(m.doc))
            })
            .collect()
    })
}

fn anchor(rule: &str) -> String {
    format!(
        "rule-{}",
        rule.to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    )
}

/// A result row's `id`: `f-` and the finding's id, so that a row can be linked to and
/// found from the JSON, SARIF or `diff` output.
fn row_id(r: &Finding) -> String {
    finding_anchor(r.id)
}

/// `f-` and a finding's id (see [`row_id`]).
fn finding_anchor(finding: rules::id::FindingId) -> String {
    let mut id = Vec::with_capacity(34);
    id.extend_from_slice(b"f-");
    finding.write_hex(&mut id);
    String::from_utf8(id).expect("hex digits are ASCII")
}

/// Renders the report of one target (see [`render_into`]).
pub fn render(report: &TargetReport) -> Result<String, String> {
    let mut out = String::new();
    render_into(report, &mut out)?;
    Ok(out)
}

/// One table of results (failures, errors and passes with a note), their suppressions
/// beside them when `suppressed`.
fn results_table<'a>(rows: &'a [&'a Finding], suppressed: bool) -> impl RenderOnce + 'a {
    owned_html! {
        table(class = if suppressed { "results suppressed" } else { "results" }) {
            thead {
                tr {
                    th : "Status"; th : "Check"; th : "Resource"; th : "Finding";
                    @ if suppressed { th : "Suppressed because"; }
                }
            }
            tbody {
                @ for r in rows {
                    // Our own constants: written as they are.
                    tr(class = Raw(triage::row_class(r)), id = Raw(row_id(r))) {
                        td(class = "status") : triage::result_badges(r);
                        td {
                            code : Raw(r.check.as_str());
                            @ if r.scope == Scope::Account {
                                br;
                                small(class = "scope", title = "about the account's setup, not a resource") : "account";
                            }
                        }
                        td(class = "resource") {
                            strong : Esc(&r.resource_name);
                            br;
                            small : Esc(&r.resource);
                        }
                        td {
                            : Esc(&r.message);
                            @ if let Some(c) = &r.cause {
                                br;
                                small(class = "cause") {
                                    : "Follows from ";
                                    a(href = format_args!("#{}", finding_anchor(c.id()))) : format_args!("the {} result", c.check.as_str());
                                    : ": fixing that fixes this.";
                                }
                            }
                            @ if !r.details.is_empty() {
                                ul(class = "details") {
                                    @ for d in &r.details { li { code : Esc(d); } }
                                }
                            }
                        }
                        @ if let Some(s) = &r.suppressed {
                            td : triage::suppression_note(s);
                        }
                    }
                }
            }
        }
    }
}

/// Renders the report of one target into `out` (cleared first), so that a caller
/// rendering many reports can reuse one buffer. A rendering failure is returned, so
/// that `evaluate` reports it instead of writing a page that hides the results.
pub fn render_into(report: &TargetReport, out: &mut String) -> Result<(), String> {
    // Rules in report order, each with its results: errors, failures to fix (new ones
    // first), suppressed failures, passes.
    let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for r in &report.results {
        match groups.last_mut() {
            Some((name, list)) if *name == r.rule => list.push(r),
            _ => groups.push((r.rule, vec![r])),
        }
    }
    for (_, list) in &mut groups {
        list.sort_by_key(|r| (r.status, r.suppressed.is_some(), r.new != Some(true)));
    }
    let s = report.summary.total;
    let account = AccountHeadline::of(report);
    let verdict = triage::verdict(report);
    let with_new = report.baseline.is_some();
    let with_suppressed = s.suppressed > 0 || report.suppressions.is_some();
    let collected = report
        .collected_at
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown".into());
    let title = format!("CloudKestrel report: {}", report.target);
    let page = html! {
        : doctype::HTML;
        html(lang = "en") {
            head {
                meta(charset = "utf-8");
                meta(name = "viewport", content = "width=device-width, initial-scale=1");
                title : &title;
                style : Raw(CSS);
            }
            body {
                header {
                    div(class = "brand") : "CloudKestrel";
                    h1 : &title;
                    dl(class = "meta") {
                        dt : "Account"; dd : Esc(report.account_id.as_deref().unwrap_or("unknown"));
                        dt : "Collected"; dd : &collected;
                        dt : "Snapshot"; dd { code : Esc(&report.snapshot); }
                        : triage::meta_rows(report);
                        dt : "Tool"; dd : format_args!("cloudkestrel {}", env!("CARGO_PKG_VERSION"));
                    }
                    div(class = format_args!("verdict {}", verdict.0)) {
                        span(class = "verdict-text") : verdict.1;
                        : scope::headline_counts(report, &account);
                    }
                    div(class = "toggles") {
                        label(class = "toggle") {
                            input(type = "checkbox", id = "hide-pass");
                            : " Hide passing results";
                        }
                        @ if s.suppressed > 0 {
                            label(class = "toggle") {
                                input(type = "checkbox", id = "hide-suppressed");
                                : " Hide suppressed failures";
                            }
                        }
                        @ if report.suppressions.is_some() || report.baseline.is_some() {
                            a(class = "toggle", href = "#triage") : "Triage: suppressions and baseline";
                        }
                    }
                }
                nav {
                    h2 : "Rules";
                    table(class = "toc") {
                        thead {
                            tr {
                                th : "Rule"; th : "Severity";
                                th(title = "the verdict over the rule's results about resources; the counts are theirs") : "Resources";
                                th : "Pass"; th : "Fail";
                                @ if with_suppressed { th : "Suppressed"; }
                                th : "Error";
                                @ if with_new { th : "New"; }
                                th(class = "setup", title = "what the rule needs of the account: its policy, its AWS Config rule, the expected groups") : "Account setup";
                            }
                        }
                        tbody {
                            @ for (name, list) in &groups {
                                |t| {
                                    let scopes = RuleScopes::of(list);
                                    let c = scopes.resource;
                                    let meta = rules::find(name).map(|r| r.meta());
                                    t << html! {
                                        tr {
                                            td { a(href = format_args!("#{}", anchor(name))) : *name; }
                                            td {
                                                @ if let Some(m) = meta {
                                                    : triage::severity_badge(list[0].severity, m.severity_reason);
                                                }
                                            }
                                            td(class = "resources") : scopes.resource_badge();
                                            td : c.pass; td : c.fail;
                                            @ if with_suppressed { td : c.suppressed; }
                                            td : c.error;
                                            @ if with_new { td : c.new; }
                                            td(class = "setup") : scopes.setup_state();
                                        }
                                    };
                                }
                            }
                        }
                    }
                }
                main {
                    @ if !report.problems.is_empty() {
                        section(class = "problems") {
                            h2 : "Collection problems";
                            p : "These parts of the account could not be read when the snapshot was collected. Checks that needed them report error, never pass.";
                            table(class = "results") {
                                thead { tr { th : "Section"; th : "Operation"; th : "Error"; th : "Scope"; th : "Message"; } }
                                tbody {
                                    @ for p in &report.problems {
                                        tr(class = "result error") {
                                            td { code : p.section.as_str(); }
                                            td { code : Esc(&p.operation); }
                                            td : Esc(&p.error_code);
                                            td : Esc(&format!("{}{}", p.region.as_deref().unwrap_or(""), p.resource.as_deref().map(|r| format!(" {r}")).unwrap_or_default()));
                                            td : Esc(&p.message);
                                        }
                                    }
                                }
                            }
                        }
                    }
                    : triage::section(report);
                    @ for (name, list) in &groups {
                        |t| {
                            let meta = rules::find(name).map(|r| r.meta());
                            let scopes = RuleScopes::of(list);
                            let c = scopes.resource;
                            // Failures, errors and passes that carry a note in full; plain
                            // passes as a list of names per check (every message is in the JSON).
                            let (detailed, plain): (Vec<&Finding>, Vec<&Finding>) =
                                list.iter().copied().partition(|r| {
                                    r.status != Status::Pass
                                        || matches!(r.check, Check::PolicyDocument | Check::Deployed)
                                        || r.has_note()
                                });
                            // Suppressed failures apart: accepted, not findings to fix.
                            let (suppressed, live): (Vec<&Finding>, Vec<&Finding>) =
                                detailed.into_iter().partition(|r| r.suppressed.is_some());
                            let mut plain_passes: Vec<(&str, Vec<&str>)> = Vec::new();
                            for r in plain {
                                match plain_passes.iter_mut().find(|(c, _)| *c == r.check.as_str()) {
                                    Some((_, names)) => names.push(&r.resource_name),
                                    None => plain_passes.push((r.check.as_str(), vec![&r.resource_name])),
                                }
                            }
                            t << html! {
                                section(class = "rule", id = anchor(name)) {
                                    h2 {
                                        : scopes.heading_badge();
                                        : " ";
                                        : *name;
                                    }
                                    @ if let Some(m) = meta {
                                        p(class = "summary") {
                                            : format_args!("{} rule · ", m.kind.as_str());
                                            : m.summary;
                                        }
                                        : triage::rule_severity(m, list[0].severity);
                                    }
                                    p(class = "counts") {
                                        @ if scopes.has_resource {
                                            : format_args!("Resources: {} passed · {} failed", c.pass, c.fail);
                                            @ if with_suppressed { : format_args!(" · {} suppressed", c.suppressed); }
                                            : format_args!(" · {} errors", c.error);
                                            @ if with_new { : format_args!(" · {} new", c.new); }
                                            : ". ";
                                        }
                                        span(class = "setup") {
                                            : "Account setup: ";
                                            : scopes.setup_state();
                                        }
                                    }
                                    @ if let Some(m) = meta {
                                        details(class = "doc") {
                                            summary : "What this rule checks, why, and how to fix it";
                                            |t| match rendered_docs().iter().find(|(n, _)| *n == m.name) {
                                                Some((_, doc)) => t.write_raw(doc),
                                                None => t.write_raw(&doc::to_html(m.doc)),
                                            }
                                        }
                                    }
                                    @ if !live.is_empty() {
                                        : results_table(&live, false);
                                    }
                                    @ if !suppressed.is_empty() {
                                        div(class = "suppressed-results") {
                                            h3 : format_args!("Suppressed failures ({}): accepted, not findings to fix", suppressed.len());
                                            : results_table(&suppressed, true);
                                        }
                                    }
                                    @ for (check, names) in &plain_passes {
                                        details(class = "passes") {
                                            summary {
                                                span(class = "badge pass") : "pass";
                                                : " ";
                                                code : *check;
                                                : format_args!(" — {} resource(s) with nothing to report", names.len());
                                            }
                                            p(class = "pass-list") : EscJoined(names);
                                        }
                                    }
                                }
                            };
                        }
                    }
                }
                footer {
                    : format_args!("Generated by CloudKestrel from an offline snapshot. Statuses: pass, fail, error (could not be decided: never a pass). A suppressed failure is still a fail, accepted until its expiry. Results about the account's setup (CloudKestrel's policies, AWS Config rules, the expected groups, and the users who cannot have a missing policy) are counted apart from those about resources. Every result, with its message, is also in {}.json.", report.target);
                }
                script : Raw(JS);
            }
        }
    };
    // Into one buffer sized for the report up front (horrorshow's `into_string` grows
    // it from a small guess, then copies it once more to shrink it).
    out.clear();
    out.reserve(CSS.len() + JS.len() + 16 * 1024 + 128 * report.results.len());
    page.write_to_string(out)
        .map_err(|e| format!("rendering failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documentation rendered once is what rendering it in place gives.
    #[test]
    fn rendered_docs_equal_rendering_in_place() {
        assert_eq!(rendered_docs().len(), rules::RULES.len());
        for r in rules::RULES {
            let m = r.meta();
            let cached = rendered_docs()
                .iter()
                .find(|(n, _)| *n == m.name)
                .map(|(_, d)| d.clone())
                .unwrap();
            assert_eq!(doc::to_html(m.doc), cached, "{}", m.name);
            assert!(cached.contains("<h4>"), "{}: {cached}", m.name);
        }
    }
}
