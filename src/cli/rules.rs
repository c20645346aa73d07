//! `rules`: the rules, or one rule's documentation.

use cloudkestrel::{rules, Exit};

use super::fail;

pub fn run(explain: Option<&str>) -> Exit {
    let Some(name) = explain else {
        say!("{:<44} {:<7} {:<9} SUMMARY", "RULE", "KIND", "SEVERITY");
        for r in rules::RULES {
            let m = r.meta();
            say!(
                "{:<44} {:<7} {:<9} {}",
                m.name,
                m.kind.as_str(),
                m.severity.as_str(),
                m.summary
            );
        }
        say!("\n`cloudkestrel rules --explain NAME` shows what a rule checks, why, how to fix it, and its settings.");
        return Exit::Pass;
    };
    let Some(rule) = rules::find(name) else {
        let hint = rules::suggest(name)
            .map(|s| format!(" Did you mean {s}?"))
            .unwrap_or_default();
        return fail(
            Exit::Usage,
            format!("unknown rule {name:?}.{hint} `cloudkestrel rules` lists them all."),
        );
    };
    let m = rule.meta();
    say!("# {} ({} rule)\n\n{}\n", m.name, m.kind.as_str(), m.summary);
    say!(
        "Severity: {} (targets.json may override it per target: \"Severity\"): {}.\n",
        m.severity.as_str(),
        m.severity_reason
    );
    if let (Some(id), Some(aws)) = (m.source_identifier, m.aws_rule_name) {
        say!("AWS Config managed rule: SourceIdentifier {id}, default name {aws}\n");
    }
    for (title, settings) in [
        ("Parameters (sent to AWS Config)", m.parameters),
        ("Options (CloudKestrel's local check)", m.options),
    ] {
        if !settings.is_empty() {
            say!("{title}:");
            for s in settings {
                say!(
                    "  {:<32} {} ({}{})",
                    s.name,
                    s.doc,
                    s.ty.describe(),
                    s.default
                        .map(|d| format!("; default {d}"))
                        .unwrap_or_default()
                );
            }
            say!();
        }
    }
    // The documentation as written: its Markdown (`## headings`, `- lists`, `**bold**`,
    // `code`) reads as plain text on a terminal and pastes into Markdown as it is; the
    // HTML report renders it (report::html::doc).
    for line in m.doc.lines() {
        say!("{}", line.strip_prefix(' ').unwrap_or(line));
    }
    Exit::Pass
}
