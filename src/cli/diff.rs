//! `diff OLD NEW`: two JSON reports of one target, or two snapshots of it (evaluated
//! with targets.json and the suppressions beside it), compared by finding id.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use cloudkestrel::triage::baseline::read_report;
use cloudkestrel::triage::diff::{self, Drift, FindingsDiff, Side};
use cloudkestrel::triage::suppressions::{self, Suppressions};
use cloudkestrel::untrusted::{self, Escaped};
use cloudkestrel::{evaluate as eval, snapshot, targets, Exit};

use super::fail;

/// One side of the comparison, read.
struct Read {
    target: String,
    account_id: Option<String>,
    complete: bool,
    results: Vec<Side>,
    /// For a snapshot: the account itself (for the drift).
    account: Option<cloudkestrel::model::Account>,
}

fn is_report(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "json")
}

fn read(path: &Path, targets_file: &Path) -> Result<Read, Exit> {
    if is_report(path) {
        let r = read_report(path).map_err(|e| fail(Exit::Usage, e))?;
        return Ok(Read {
            target: r.target,
            account_id: r.account_id,
            complete: r.complete,
            results: r.results,
            account: None,
        });
    }
    let account = snapshot::read(path).map_err(|e| fail(Exit::Usage, e))?;
    let targets = targets::load(targets_file).map_err(|e| fail(Exit::Usage, e))?;
    let Some(target) = targets.get(&account.metadata.target) else {
        return Err(fail(
            Exit::Usage,
            format!(
                "{}: a snapshot of target {:?}, which {} does not define",
                path.display(),
                account.metadata.target,
                targets.file.display()
            ),
        ));
    };
    let mut report = eval::evaluate_account(target, &account, &path.display().to_string());
    let default = Suppressions::default_path(&targets.file);
    if default.is_file() {
        let s = suppressions::load(&default, &targets).map_err(|e| fail(Exit::Usage, e))?;
        s.apply(
            &target.name,
            &mut report.results,
            chrono::Utc::now().date_naive(),
        );
    }
    Ok(Read {
        complete: report.fully_audited(),
        target: report.target.clone(),
        account_id: report.account_id.clone(),
        results: report.results.iter().map(Side::of).collect(),
        account: Some(account),
    })
}

#[derive(Serialize)]
struct Output<'a> {
    target: &'a str,
    old: String,
    new: String,
    #[serde(flatten)]
    findings: &'a FindingsDiff,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_changes: Option<&'a Drift>,
}

pub fn run(old: &Path, new: &Path, targets_file: &Path, json: bool) -> Exit {
    if is_report(old) != is_report(new) {
        return fail(
            Exit::Usage,
            "compare two JSON reports, or two snapshots: not one of each",
        );
    }
    let (a, b) = match (read(old, targets_file), read(new, targets_file)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if a.target != b.target {
        return fail(
            Exit::Usage,
            format!(
                "{} is of target {:?} and {} of target {:?}: diff compares two of one target",
                old.display(),
                a.target,
                new.display(),
                b.target
            ),
        );
    }
    if a.account_id != b.account_id && a.account_id.is_some() && b.account_id.is_some() {
        return fail(
            Exit::Usage,
            format!(
                "{} is of account {} and {} of account {}: target {:?} was pointed at another account",
                old.display(),
                a.account_id.as_deref().unwrap_or_default(),
                new.display(),
                b.account_id.as_deref().unwrap_or_default(),
                a.target
            ),
        );
    }
    let d = diff::findings(&a.results, &b.results);
    let drift = match (&a.account, &b.account) {
        (Some(x), Some(y)) => Some(diff::drift(x, y)),
        _ => None,
    };
    let exit = if !b.complete {
        Exit::Incomplete
    } else if d.new_unsuppressed() {
        Exit::Fail
    } else {
        Exit::Pass
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let o = Output {
            target: &a.target,
            old: old.display().to_string(),
            new: new.display().to_string(),
            findings: &d,
            account_changes: drift.as_ref(),
        };
        let _ = untrusted::write_json(&mut out, &o).and_then(|()| writeln!(out));
        return exit;
    }
    let _ = print_text(
        &mut out,
        old,
        new,
        &a.target,
        &d,
        drift.as_ref(),
        b.complete,
    );
    exit
}

fn print_text(
    out: &mut impl Write,
    old: &Path,
    new: &Path,
    target: &str,
    d: &FindingsDiff,
    drift: Option<&Drift>,
    complete: bool,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        Escaped(format_args!(
            "{} → {} (target {target})",
            old.display(),
            new.display()
        ))
    )?;
    let line = |out: &mut dyn Write, mark: &str, s: &Side| {
        writeln!(
            out,
            "  {mark} {} [{}] {}: {}{}",
            s.rule,
            s.check,
            Escaped(&s.resource_name),
            Escaped(&s.message),
            if s.suppressed { " (suppressed)" } else { "" }
        )
    };
    for (title, mark, list) in [
        ("new failures", "+", &d.new_failures),
        ("fixed", "-", &d.fixed),
        ("still failing", "=", &d.still_failing),
        ("errors in the new one (not decided)", "!", &d.errors),
    ] {
        writeln!(out, "{title}: {}", list.len())?;
        for s in list {
            line(out, mark, s)?;
        }
    }
    writeln!(out, "messages changed: {}", d.message_changed.len())?;
    for c in &d.message_changed {
        writeln!(
            out,
            "  ~ {} [{}] {}: {} → {}",
            c.new.rule,
            c.new.check,
            Escaped(&c.new.resource_name),
            Escaped(&c.old.message),
            Escaped(&c.new.message)
        )?;
    }
    if let Some(drift) = drift {
        writeln!(out, "account changes:")?;
        let mut any = false;
        for (kind, c) in drift.kinds() {
            if c.is_empty() {
                continue;
            }
            any = true;
            for (what, names) in [
                ("added", &c.added),
                ("removed", &c.removed),
                ("changed", &c.changed),
            ] {
                if !names.is_empty() {
                    writeln!(out, "  {kind} {what}: {}", Escaped(names.join(", ")))?;
                }
            }
        }
        if !any {
            writeln!(out, "  none")?;
        }
    }
    if !complete {
        writeln!(
            out,
            "the new one was not fully audited: what it could not decide may hide a new failure (exit 3)"
        )?;
    }
    Ok(())
}
