//! `apply`: add the AWS Config managed rules a target lacks, as a reviewed plan.

use std::io::Write;

use cloudkestrel::apply;
use cloudkestrel::collect::{self, Connection};
use cloudkestrel::untrusted::Escaped;
use cloudkestrel::{snapshot, targets, Exit};

use super::selection::{discover, narrow};
use super::{fail, init_logging, runtime};

pub fn run(
    targets_file: &std::path::Path,
    only: &[String],
    conn: Connection,
    dry_run: bool,
    yes: bool,
    from_snapshot: Option<&std::path::Path>,
) -> Exit {
    init_logging(false, 0);
    let mut targets = match targets::load(targets_file) {
        Ok(t) => t,
        Err(e) => return fail(Exit::Usage, e),
    };
    if let Some(path) = from_snapshot {
        let account = match snapshot::read(path) {
            Ok(a) => a,
            Err(e) => return fail(Exit::Incomplete, e),
        };
        targets.add_members([account.metadata.target.as_str()]);
        let Some(target) = targets.get(&account.metadata.target) else {
            return fail(
                Exit::Usage,
                format!(
                    "{}: a snapshot of target {:?}, which {} does not define",
                    path.display(),
                    account.metadata.target,
                    targets_file.display()
                ),
            );
        };
        let plan = apply::plan(target, &account);
        say_part!("{}", apply::describe(&plan));
        say!(
            "(planned from {}, collected {}; dry run: nothing changed)",
            Escaped(path.display()),
            account.metadata.collected_at
        );
        return if plan.blocked() {
            Exit::Incomplete
        } else {
            Exit::Pass
        };
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return e,
    };
    let (discovered, _) = discover(&mut targets, only, &conn, &runtime, false);
    let selected = match narrow(&targets, only, None) {
        Ok(s) => s,
        Err(e) => return fail(Exit::Usage, e),
    };
    let states = runtime.block_on(futures::future::join_all(
        selected.iter().map(|t| apply::read_state(t, &conn)),
    ));
    let plans: Vec<(apply::Plan, Option<collect::aws::Clients>)> = selected
        .iter()
        .zip(states)
        .map(|(t, (account, clients))| (apply::plan(t, &account), clients))
        .collect();
    let mut exit = discovered;
    for (plan, _) in &plans {
        say_part!("{}", apply::describe(plan));
        if plan.blocked() {
            exit = Exit::Incomplete;
            say!(
                "  → nothing will be added for {} until the above is fixed",
                Escaped(&plan.target)
            );
        }
    }
    let todo: usize = plans
        .iter()
        .filter(|(p, _)| !p.blocked())
        .map(|(p, _)| p.additions.len())
        .sum();
    if dry_run {
        say!("dry run: nothing changed ({todo} rule(s) would be added)");
        return exit;
    }
    if todo == 0 {
        say!("nothing to do");
        return exit;
    }
    if !yes {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            return fail(
                Exit::Usage,
                "refusing to change AWS Config without confirmation: pass --yes, or run on a terminal (nothing changed)",
            );
        }
        say_part!("Add {todo} rule(s)? [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return fail(Exit::Usage, "not confirmed: nothing changed");
        }
    }
    for (plan, clients) in &plans {
        let Some(clients) = clients.as_ref().filter(|_| !plan.blocked()) else {
            continue;
        };
        for a in &plan.additions {
            match runtime.block_on(apply::put_rule(&clients.config(&a.region), a)) {
                Ok(()) => say!(
                    "{}",
                    Escaped(format_args!(
                        "added {} in {} for {}",
                        a.rule_name, a.region, plan.target
                    ))
                ),
                Err(e) => {
                    tell!("error: {}: {}", Escaped(&plan.target), Escaped(e));
                    exit = exit.worst(Exit::Incomplete);
                }
            }
        }
    }
    exit
}
