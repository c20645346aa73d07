//! `rules`: the rules, or one rule's documentation.

use cloudkestrel::{rules, Exit};

use super::fail;

pub fn run(explain: Option<&str>) -> Exit {
    let Some(name) = explain else {
        println!("{:<44} {:<7} SUMMARY", "RULE", "KIND");
        for r in rules::RULES {
            let m = r.meta();
            println!("{:<44} {:<7} {}", m.name, m.kind.as_str(), m.summary);
        }
        println!("\n`cloudkestrel rules --explain NAME` shows what a rule checks, why, how to fix it, and its settings.");
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
    println!("# {} ({} rule)\n\n{}\n", m.name, m.kind.as_str(), m.summary);
    if let (Some(id), Some(aws)) = (m.source_identifier, m.aws_rule_name) {
        println!("AWS Config managed rule: SourceIdentifier {id}, default name {aws}\n");
    }
    for (title, settings) in [
        ("Parameters (sent to AWS Config)", m.parameters),
        ("Options (CloudKestrel's local check)", m.options),
    ] {
        if !settings.is_empty() {
            println!("{title}:");
            for s in settings {
                println!(
                    "  {:<32} {} ({}{})",
                    s.name,
                    s.doc,
                    s.ty.describe(),
                    s.default
                        .map(|d| format!("; default {d}"))
                        .unwrap_or_default()
                );
            }
            println!();
        }
    }
    for line in m.doc.lines() {
        println!("{}", line.strip_prefix(' ').unwrap_or(line));
    }
    Exit::Pass
}
