//! `cloudkestrel diff OLD NEW`: what changed between two reports of one target (or two
//! snapshots, evaluated first): failures that are new, fixed or still there, and
//! results whose message changed; for two snapshots also what changed in the account.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::model::Account;
use crate::rules::id::FindingId;

impl Side {
    /// A result of a fresh evaluation.
    pub fn of(f: &crate::rules::Finding) -> Side {
        Side {
            id: f.id,
            rule: f.rule.to_string(),
            check: f.check.as_str().to_string(),
            resource: f.resource.to_string(),
            resource_name: f.resource_name.to_string(),
            status: f.status.as_str().to_string(),
            message: f.message.clone(),
            suppressed: f.suppressed.is_some(),
        }
    }
}

/// One result as the diff needs it, from a report file or a fresh evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub id: FindingId,
    pub rule: String,
    pub check: String,
    pub resource: String,
    pub resource_name: String,
    pub status: String,
    pub message: String,
    /// Whether a suppression accepts this failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

/// A result whose message changed while its status did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub old: Side,
    pub new: Side,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct FindingsDiff {
    /// Failing in NEW, not failing in OLD (passing, an error, or absent).
    pub new_failures: Vec<Side>,
    /// Failing in OLD, passing in NEW or gone from it.
    pub fixed: Vec<Side>,
    /// Failing in both.
    pub still_failing: Vec<Side>,
    /// The same status in both, another message.
    pub message_changed: Vec<Changed>,
    /// Errors in NEW: what could not be decided there (a new failure may hide in them).
    pub errors: Vec<Side>,
}

impl FindingsDiff {
    /// Whether NEW has a failure, not accepted by a suppression, that OLD did not have.
    pub fn new_unsuppressed(&self) -> bool {
        self.new_failures.iter().any(|s| !s.suppressed)
    }
}

/// Compares two reports' results, matched by id.
pub fn findings(old: &[Side], new: &[Side]) -> FindingsDiff {
    let old_by: HashMap<FindingId, &Side> = old.iter().map(|s| (s.id, s)).collect();
    let new_ids: BTreeSet<FindingId> = new.iter().map(|s| s.id).collect();
    let mut d = FindingsDiff::default();
    for n in new {
        let o = old_by.get(&n.id);
        match (n.status.as_str(), o.map(|o| o.status.as_str())) {
            ("fail", Some("fail")) => d.still_failing.push(n.clone()),
            ("fail", _) => d.new_failures.push(n.clone()),
            ("pass", Some("fail")) => d.fixed.push(n.clone()),
            ("error", _) => d.errors.push(n.clone()),
            _ => {}
        }
        if let Some(o) = o {
            if o.status == n.status && o.message != n.message {
                d.message_changed.push(Changed {
                    old: (*o).clone(),
                    new: n.clone(),
                });
            }
        }
    }
    for o in old {
        if o.status == "fail" && !new_ids.contains(&o.id) {
            d.fixed.push(o.clone());
        }
    }
    for list in [
        &mut d.new_failures,
        &mut d.fixed,
        &mut d.still_failing,
        &mut d.errors,
    ] {
        list.sort_by(|a, b| {
            (&a.rule, &a.check, &a.resource_name).cmp(&(&b.rule, &b.check, &b.resource_name))
        });
    }
    d
}

/// What changed in one kind of thing of the account (users, buckets…), by name.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// What changed in the account between two snapshots.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub users: Changes,
    pub groups: Changes,
    pub roles: Changes,
    pub policies: Changes,
    pub buckets: Changes,
    /// AWS Config rules, as `<region>/<rule name>`.
    pub config_rules: Changes,
}

impl Drift {
    pub fn kinds(&self) -> [(&'static str, &Changes); 6] {
        [
            ("users", &self.users),
            ("groups", &self.groups),
            ("roles", &self.roles),
            ("customer managed policies", &self.policies),
            ("buckets", &self.buckets),
            ("AWS Config rules", &self.config_rules),
        ]
    }
}

/// Compares what two snapshots hold, thing by thing: by name, and as their serialised
/// form (a user whose groups, policies or credentials changed is "changed").
pub fn drift(old: &Account, new: &Account) -> Drift {
    fn by_name<T: Serialize>(items: impl Iterator<Item = (String, T)>) -> BTreeMap<String, String> {
        items
            .map(|(k, v)| (k, serde_json::to_string(&v).unwrap_or_default()))
            .collect()
    }
    fn compare(old: BTreeMap<String, String>, new: BTreeMap<String, String>) -> Changes {
        let mut c = Changes::default();
        for (k, v) in &new {
            match old.get(k) {
                None => c.added.push(k.clone()),
                Some(o) if o != v => c.changed.push(k.clone()),
                Some(_) => {}
            }
        }
        c.removed = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect();
        c
    }
    // A user's state includes its credential report row (password, MFA, keys).
    let users = |a: &Account| {
        by_name(a.iam.users.iter().map(|u| {
            let row = a.iam.credential_report.iter().find(|r| r.user == u.name);
            let mut row = row.cloned();
            // The report's creation time of a row is the user's, not a change.
            if let Some(r) = row.as_mut() {
                r.password_last_used = None;
                for k in [&mut r.access_key_1, &mut r.access_key_2]
                    .into_iter()
                    .flatten()
                {
                    k.last_used = None;
                }
            }
            (u.name.clone(), (u, row))
        }))
    };
    let rules = |a: &Account| {
        by_name(a.config.regions.iter().flat_map(|r| {
            r.rules
                .iter()
                .map(move |x| (format!("{}/{}", r.region, x.name), x))
        }))
    };
    Drift {
        users: compare(users(old), users(new)),
        groups: compare(
            by_name(old.iam.groups.iter().map(|g| (g.name.clone(), g))),
            by_name(new.iam.groups.iter().map(|g| (g.name.clone(), g))),
        ),
        roles: compare(
            by_name(old.iam.roles.iter().map(|r| (r.name.clone(), r))),
            by_name(new.iam.roles.iter().map(|r| (r.name.clone(), r))),
        ),
        policies: compare(
            by_name(old.iam.policies.iter().map(|p| (p.name.clone(), p))),
            by_name(new.iam.policies.iter().map(|p| (p.name.clone(), p))),
        ),
        buckets: compare(
            by_name(old.s3.buckets.iter().map(|b| (b.name.clone(), b))),
            by_name(new.s3.buckets.iter().map(|b| (b.name.clone(), b))),
        ),
        config_rules: compare(rules(old), rules(new)),
    }
}
