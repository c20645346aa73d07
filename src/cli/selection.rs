//! Which targets a run takes: targets.json's, the accounts of its organization entries
//! (discovered for `collect` and `audit`, found as snapshot directories for
//! `evaluate`), then `--target` and `--shard`; and the `targets` command, which prints
//! them.

use std::path::Path;

use cloudkestrel::collect::Connection;
use cloudkestrel::targets::membership::{self, Membership};
use cloudkestrel::targets::organization::{self, Discovered, OrgAccount};
use cloudkestrel::targets::shard::Shard;
use cloudkestrel::targets::{Target, Targets};
use cloudkestrel::untrusted::Escaped;
use cloudkestrel::Exit;

/// `--shard`'s value, K from the environment when only N is given.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text, |v| std::env::var(v).ok())
}

/// The targets named by `--target` (all when none: a name is a target, an account of
/// an organization entry, or an entry, which stands for all its accounts), in the
/// slice `--shard` gives; or why a name is wrong.
pub fn narrow<'a>(
    targets: &'a Targets,
    only: &[String],
    shard: Option<Shard>,
) -> Result<Vec<&'a Target>, String> {
    let is_entry = |name: &str| targets.organizations.iter().any(|o| o.name == name);
    for name in only {
        if targets.get(name).is_none() && !is_entry(name) && targets.entry_of(name).is_none() {
            let names: Vec<&str> = targets
                .targets
                .iter()
                .map(|t| t.name.as_str())
                .chain(targets.organizations.iter().map(|o| o.name.as_str()))
                .collect();
            let hint = cloudkestrel::suggest::closest(name, names.iter().copied())
                .map(|n| format!(" Did you mean {n}?"))
                .unwrap_or_default();
            return Err(format!(
                "--target {name}: {} defines no such target.{hint} Targets: {}",
                targets.file.display(),
                names.join(", ")
            ));
        }
    }
    Ok(targets
        .targets
        .iter()
        .filter(|t| {
            only.is_empty()
                || only.contains(&t.name)
                || t.member.as_ref().is_some_and(|m| only.contains(&m.entry))
        })
        .filter(|t| shard.is_none_or(|s| s.keeps(t)))
        .collect())
}

/// What discovering one organization entry gave.
pub struct Discovery {
    pub entry: String,
    /// What was found, or why nothing could be.
    pub result: Result<Discovered, String>,
}

/// Discovers the accounts of the organization entries `only` needs (all when it is
/// empty) and adds them to `targets`; prints what each found and skipped. The exit
/// code is 3 when an entry could not be discovered or an account it names is not in
/// the organization.
pub fn discover(
    targets: &mut Targets,
    only: &[String],
    conn: &Connection,
    runtime: &tokio::runtime::Runtime,
    quiet: bool,
) -> (Exit, Vec<Discovery>) {
    let wanted: Vec<_> = targets
        .organizations
        .iter()
        .filter(|o| {
            only.is_empty()
                || only.iter().any(|n| {
                    *n == o.name || targets.entry_of(n).is_some_and(|(e, _)| e.name == o.name)
                })
        })
        .cloned()
        .collect();
    let found = runtime.block_on(futures::future::join_all(
        wanted.iter().map(|o| organization::discover(o, conn)),
    ));
    let mut exit = Exit::Pass;
    let mut out = Vec::new();
    for (org, result) in wanted.iter().zip(found) {
        match &result {
            Ok(d) => {
                if !quiet {
                    say!(
                        "{}",
                        Escaped(format_args!(
                            "organization {}: {} account(s) to audit, {} request(s)",
                            org.name,
                            d.members.len(),
                            d.requests
                        ))
                    );
                }
                for s in &d.skipped {
                    say!(
                        "{}",
                        Escaped(format_args!(
                            "  not audited: {} {} ({})",
                            s.id,
                            s.name.as_deref().unwrap_or(""),
                            s.state
                        ))
                    );
                }
                for m in &d.missing {
                    exit = exit.worst(Exit::Incomplete);
                    tell!(
                        "error: {}",
                        Escaped(format_args!(
                            "organization {}: account {m} of Accounts is not in the organization (or its units): it cannot be audited",
                            org.name
                        ))
                    );
                }
                targets.targets.extend(d.members.iter().cloned());
            }
            Err(p) => {
                exit = exit.worst(Exit::Incomplete);
                tell!(
                    "error: {}",
                    Escaped(format_args!(
                        "organization {}: its accounts could not be discovered: {p}",
                        org.name
                    ))
                );
            }
        }
        out.push(Discovery {
            entry: org.name.clone(),
            result: result.map_err(|p| p.to_string()),
        });
    }
    targets.targets.sort_by(|a, b| a.name.cmp(&b.name));
    (exit, out)
}

/// The accounts of the organization entries that `evaluate` takes, offline, from
/// `dir`. An entry with a record of its accounts (`<entry>.accounts.json`, written by
/// collect: see [`Membership`]) stands for those accounts, each of which must have a
/// snapshot (one without is an error of its target, as for any target), and snapshot
/// directories of accounts the record does not list are left out, and said so. An
/// entry without a record stands for the snapshot directories `<entry>-<account id>`
/// found (with a warning: an account without one cannot be noticed), and without any
/// it is an error: nothing of it could be evaluated. The exit code is 3 for those
/// errors, an unreadable record, and accounts of `Accounts` the record says the
/// organization did not hold.
pub fn offline_members(targets: &mut Targets, dir: &Path) -> (Exit, Vec<Discovery>) {
    let found: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut exit = Exit::Pass;
    let mut out = Vec::new();
    let organizations = targets.organizations.clone();
    for org in &organizations {
        let record_path = membership::path(dir, &org.name);
        let dirs: Vec<&str> = found
            .iter()
            .map(String::as_str)
            .filter(|n| targets.entry_of(n).is_some_and(|(e, _)| e.name == org.name))
            .collect();
        let error = |exit: &mut Exit, message: String| {
            *exit = exit.worst(Exit::Incomplete);
            tell!(
                "error: {}",
                Escaped(format_args!("organization {}: {message}", org.name))
            );
            message
        };
        match Membership::read(dir, &org.name) {
            Ok(Some(record)) => {
                for d in dirs.iter().filter(|d| {
                    targets
                        .entry_of(d)
                        .is_some_and(|(_, id)| !record.ids().any(|r| r == id))
                }) {
                    say!(
                        "{}",
                        Escaped(format_args!(
                            "organization {}: {} is not an account of its record ({}, discovered {}): not evaluated",
                            org.name,
                            dir.join(d).display(),
                            record_path.display(),
                            record.discovered_at
                        ))
                    );
                }
                for m in &record.missing {
                    error(
                        &mut exit,
                        format!(
                            "account {m} of Accounts was not in the organization (or its units) when collected ({}): it cannot be audited",
                            record_path.display()
                        ),
                    );
                }
                let members: Vec<Target> = record
                    .accounts
                    .iter()
                    .map(|a| org.member(&a.id, a.name.clone(), None, "aws"))
                    .collect();
                for m in &members {
                    if targets.get(&m.name).is_none() {
                        targets.targets.push(m.clone());
                    }
                }
                let skipped = record
                    .not_audited
                    .iter()
                    .map(|a| OrgAccount {
                        id: a.id.clone(),
                        name: a.name.clone(),
                        state: a.state.clone(),
                    })
                    .collect();
                out.push(Discovery {
                    entry: org.name.clone(),
                    result: Ok(Discovered {
                        members,
                        skipped,
                        missing: record.missing.clone(),
                        requests: 0,
                    }),
                });
            }
            Ok(None) if dirs.is_empty() => {
                let message = error(
                    &mut exit,
                    format!(
                        "no snapshot of any of its accounts under {} (<entry>-<account id>/), and no record of its accounts ({}): collect it first",
                        dir.display(),
                        record_path.display()
                    ),
                );
                out.push(Discovery {
                    entry: org.name.clone(),
                    result: Err(message),
                });
            }
            Ok(None) => {
                tell!(
                    "warning: {}",
                    Escaped(format_args!(
                        "organization {}: no record of its accounts ({}): evaluating the {} account(s) with a snapshot directory; an account without one cannot be noticed (collect writes the record)",
                        org.name,
                        record_path.display(),
                        dirs.len()
                    ))
                );
                targets.add_members(dirs);
            }
            Err(e) => {
                let message = error(&mut exit, format!("{e}: collect it again"));
                targets.add_members(dirs);
                out.push(Discovery {
                    entry: org.name.clone(),
                    result: Err(message),
                });
            }
        }
    }
    targets.targets.sort_by(|a, b| a.name.cmp(&b.name));
    (exit, out)
}

/// How a target is reached, in a few words.
fn access(t: &Target) -> String {
    let mut how = match (&t.credentials, &t.profile) {
        (Some(c), _) => format!("keys from ${}", c.access_key_id_var),
        (None, Some(p)) => format!("profile {p}"),
        (None, None) => "default credentials".to_string(),
    };
    for r in &t.roles {
        how.push_str(" → ");
        how.push_str(&r.arn);
    }
    how
}

/// `cloudkestrel targets`: the resolved targets, one a line.
pub fn run(targets_file: &Path, offline: bool, shard: Option<Shard>, conn: &Connection) -> Exit {
    let mut targets = match cloudkestrel::targets::load(targets_file) {
        Ok(t) => t,
        Err(e) => return super::fail(Exit::Usage, e),
    };
    let mut exit = Exit::Pass;
    if offline {
        for o in &targets.organizations {
            say!(
                "{}",
                Escaped(format_args!(
                    "{}: organization entry (member role {}; units {}; accounts {}; excluded {}): its accounts are found when collecting, not offline",
                    o.name,
                    o.role_name,
                    list(&o.units),
                    list(&o.accounts),
                    if o.exclude.is_empty() { "none".to_string() } else { o.exclude.join(", ") }
                ))
            );
        }
    } else if !targets.organizations.is_empty() {
        let runtime = match super::runtime() {
            Ok(r) => r,
            Err(e) => return e,
        };
        exit = discover(&mut targets, &[], conn, &runtime, false).0;
    }
    let chosen = match narrow(&targets, &[], shard) {
        Ok(c) => c,
        Err(e) => return super::fail(Exit::Usage, e),
    };
    say!(
        "{:<40} {:<12} {:<24} {:>5}  ACCESS",
        "TARGET",
        "ACCOUNT",
        "ACCOUNT NAME",
        "RULES"
    );
    for t in &chosen {
        let (account, name) = match &t.member {
            Some(m) => (
                m.account_id.as_str(),
                m.account_name.as_deref().unwrap_or(""),
            ),
            None => (t.expected_account().unwrap_or("?"), ""),
        };
        say!(
            "{}",
            Escaped(format_args!(
                "{:<40} {:<12} {:<24} {:>5}  {}",
                t.name,
                account,
                name,
                t.rules.len(),
                access(t)
            ))
        );
    }
    say!(
        "{} target(s){}",
        chosen.len(),
        shard
            .map(|s| format!(" in shard {}/{} of {}", s.k, s.n, targets.targets.len()))
            .unwrap_or_default()
    );
    exit
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "all".to_string()
    } else {
        v.join(", ")
    }
}
