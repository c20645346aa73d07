//! Reading a snapshot's IAM tables, strictly (see [`super::column`]).

// foldhash, not std's SipHash: hashing was a twentieth of `evaluate` at scale (issue 5).
// Its RandomState is randomly seeded, so account data cannot choose collisions ahead.
use foldhash::{HashMap, HashMapExt};

use rusqlite::{Connection, Row};

use super::column::{orphans, refuse, Table};
use crate::model::*;

/// The principal types of `iam_policy_attachments` and `iam_inline_policies`.
const KINDS: [&str; 3] = ["user", "group", "role"];

const ATTACHMENTS: Table = Table::new("iam_policy_attachments", &[0, 2]);
const INLINE: Table = Table::new("iam_inline_policies", &[1, 2]);
const MEMBERS: Table = Table::new("iam_group_members", &[]);
const USERS: Table = Table::new("iam_users", &[0]);
const GROUPS: Table = Table::new("iam_groups", &[0]);
const ROLES: Table = Table::new("iam_roles", &[0]);
const VERSIONS: Table = Table::new("iam_policy_versions", &[0, 1]);
const POLICIES: Table = Table::new("iam_policies", &[0]);
const CREDENTIAL_REPORT: Table = Table::new("iam_credential_report", &[0]);
const SUMMARY: Table = Table::new("iam_account_summary", &[0]);
const PASSWORD_POLICY: Table = Table::new("iam_password_policy", &[]);
const MFA_DEVICES: Table = Table::new("iam_virtual_mfa_devices", &[0]);

pub(super) fn load_iam(conn: &Connection) -> rusqlite::Result<Iam> {
    // Attachments and inline policies, per principal type (user, group, role), keyed by
    // principal name: looked up by `&str`, without building a key per principal. An
    // unknown principal type, or a policy or membership of a principal the snapshot does
    // not hold, is refused: dropped, it could make a user look policy-free.
    let kind_index = |t: &Table, r: &Row<'_>, idx: usize| {
        let kind = r.get_ref(idx)?.as_str().ok();
        KINDS
            .iter()
            .position(|k| Some(*k) == kind)
            .ok_or_else(|| t.refuse(r, idx, "is not a principal type (user, group, role)"))
    };
    let mut attached: [HashMap<String, Vec<String>>; 3] = Default::default();
    for (arn, kind, name) in ATTACHMENTS.rows(
        conn,
        "SELECT policy_arn, principal_type, principal_name FROM iam_policy_attachments ORDER BY rowid",
        |r| Ok((r.get::<_, String>(0)?, kind_index(&ATTACHMENTS, r, 1)?, r.get::<_, String>(2)?)),
    )? {
        attached[kind].entry(name).or_default().push(arn);
    }
    let mut inline: [HashMap<String, Vec<InlinePolicy>>; 3] = Default::default();
    for (kind, name, policy) in INLINE.rows(
        conn,
        "SELECT principal_type, principal_name, policy_name, document FROM iam_inline_policies ORDER BY rowid",
        |r| {
            Ok((
                kind_index(&INLINE, r, 0)?,
                r.get::<_, String>(1)?,
                InlinePolicy { name: r.get(2)?, document: INLINE.document(r, 3)? },
            ))
        },
    )? {
        inline[kind].entry(name).or_default().push(policy);
    }
    let mut take = |kind: usize, name: &str| {
        (
            attached[kind].remove(name).unwrap_or_default(),
            inline[kind].remove(name).unwrap_or_default(),
        )
    };
    let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
    for (group, user) in MEMBERS.rows(
        conn,
        "SELECT group_name, user_name FROM iam_group_members ORDER BY rowid",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )? {
        memberships.entry(user).or_default().push(group);
    }

    let users = USERS
        .rows(
            conn,
            "SELECT name, arn, user_id, path, created, permissions_boundary FROM iam_users ORDER BY rowid",
            |r| {
                Ok(User {
                    name: r.get(0)?,
                    arn: r.get(1)?,
                    user_id: r.get(2)?,
                    path: r.get(3)?,
                    created: USERS.time(r, 4)?,
                    permissions_boundary: r.get(5)?,
                    groups: Vec::new(),
                    attached_policies: Vec::new(),
                    inline_policies: Vec::new(),
                })
            },
        )?
        .into_iter()
        .map(|mut u| {
            (u.attached_policies, u.inline_policies) = take(0, &u.name);
            u.groups = memberships.remove(&u.name).unwrap_or_default();
            u
        })
        .collect();
    let groups = GROUPS
        .rows(
            conn,
            "SELECT name, arn, path FROM iam_groups ORDER BY rowid",
            |r| {
                Ok(Group {
                    name: r.get(0)?,
                    arn: r.get(1)?,
                    path: r.get(2)?,
                    attached_policies: Vec::new(),
                    inline_policies: Vec::new(),
                })
            },
        )?
        .into_iter()
        .map(|mut g| {
            (g.attached_policies, g.inline_policies) = take(1, &g.name);
            g
        })
        .collect();
    let roles = ROLES
        .rows(
            conn,
            "SELECT name, arn, path, trust_policy, permissions_boundary FROM iam_roles ORDER BY rowid",
            |r| {
                Ok(Role {
                    name: r.get(0)?,
                    arn: r.get(1)?,
                    path: r.get(2)?,
                    trust_policy: ROLES.document_opt(r, 3)?,
                    permissions_boundary: r.get(4)?,
                    attached_policies: Vec::new(),
                    inline_policies: Vec::new(),
                })
            },
        )?
        .into_iter()
        .map(|mut ro| {
            (ro.attached_policies, ro.inline_policies) = take(2, &ro.name);
            ro
        })
        .collect();
    let mut found: Vec<String> = memberships
        .keys()
        .map(|n| format!("user {}", quoted(n)))
        .collect();
    for (k, kind) in KINDS.iter().enumerate() {
        for name in attached[k].keys().chain(inline[k].keys()) {
            found.push(format!("{kind} {}", quoted(name)));
        }
    }
    orphans(
        found,
        "policies or group memberships of principals",
        "iam_policy_attachments, iam_inline_policies or iam_group_members",
    )?;

    Ok(Iam {
        users,
        groups,
        roles,
        policies: load_policies(conn)?,
        credential_report: load_credential_report(conn)?,
        account_summary: SUMMARY
            .rows(conn, "SELECT key, value FROM iam_account_summary", |r| {
                Ok((r.get(0)?, SUMMARY.count(r, 1)?))
            })?
            .into_iter()
            .collect(),
        password_policy: PASSWORD_POLICY.at_most_one(PASSWORD_POLICY.rows(
            conn,
            "SELECT document FROM iam_password_policy",
            |r| PASSWORD_POLICY.document(r, 0),
        )?)?,
        virtual_mfa_devices: MFA_DEVICES.rows(
            conn,
            "SELECT serial_number, user_arn, enabled_at FROM iam_virtual_mfa_devices ORDER BY rowid",
            |r| {
                Ok(VirtualMfaDevice {
                    serial_number: r.get(0)?,
                    user_arn: r.get(1)?,
                    enabled_at: MFA_DEVICES.time_opt(r, 2)?,
                })
            },
        )?,
    })
}

/// Customer managed policies with their versions. `is_default` is written as whether
/// the version is the policy's `default_version_id`: any other value is refused, and
/// so is a version of a policy the snapshot does not hold.
fn load_policies(conn: &Connection) -> rusqlite::Result<Vec<ManagedPolicy>> {
    let mut versions: HashMap<String, Vec<(PolicyVersion, bool)>> = HashMap::new();
    for (arn, v) in VERSIONS.rows(
        conn,
        "SELECT policy_arn, version_id, created, document, is_default FROM iam_policy_versions ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    PolicyVersion {
                        version_id: r.get(1)?,
                        created: VERSIONS.time_opt(r, 2)?,
                        document: VERSIONS.document(r, 3)?,
                    },
                    VERSIONS.flag(r, 4)?,
                ),
            ))
        },
    )? {
        versions.entry(arn).or_default().push(v);
    }
    let policies = POLICIES
        .rows(
            conn,
            "SELECT arn, name, path, default_version_id, attachment_count, permissions_boundary_usage_count, policy_id FROM iam_policies ORDER BY rowid",
            |r| {
                Ok(ManagedPolicy {
                    arn: r.get(0)?,
                    name: r.get(1)?,
                    path: r.get(2)?,
                    default_version_id: r.get(3)?,
                    attachment_count: POLICIES.count(r, 4)?,
                    permissions_boundary_usage_count: POLICIES.count(r, 5)?,
                    policy_id: r.get(6)?,
                    versions: Vec::new(),
                })
            },
        )?
        .into_iter()
        .map(|mut p| {
            let mut out = Vec::new();
            for (v, is_default) in versions.remove(&p.arn).unwrap_or_default() {
                if is_default != (v.version_id == p.default_version_id) {
                    return Err(refuse(format!(
                        "table iam_policy_versions, column is_default, row of policy_arn {}, version_id {}: {} disagrees with the policy's default version {}",
                        quoted(&p.arn),
                        quoted(&v.version_id),
                        u8::from(is_default),
                        quoted(&p.default_version_id)
                    )));
                }
                out.push(v);
            }
            p.versions = out;
            Ok(p)
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    orphans(
        versions
            .into_keys()
            .map(|arn| format!("policy {}", quoted(&arn)))
            .collect(),
        "versions of policies",
        "iam_policy_versions",
    )?;
    Ok(policies)
}

fn load_credential_report(conn: &Connection) -> rusqlite::Result<Vec<CredentialReportRow>> {
    const T: &Table = &CREDENTIAL_REPORT;
    // A slot is three columns: all NULL (no key), or active and last_rotated set. One
    // set without the other is refused: read as "no key", it could hide an active one.
    let key_slot = |r: &Row<'_>, base: usize| -> rusqlite::Result<Option<AccessKeySlot>> {
        let active = T.flag_opt(r, base)?;
        let last_rotated = T.time_opt(r, base + 1)?;
        let last_used = T.time_opt(r, base + 2)?;
        match (active, last_rotated) {
            (Some(active), Some(last_rotated)) => Ok(Some(AccessKeySlot {
                active,
                last_rotated,
                last_used,
            })),
            (None, None) if last_used.is_none() => Ok(None),
            (None, _) => Err(T.refuse(
                r,
                base,
                "is not a boolean (0 or 1), while the key's other columns are set",
            )),
            (Some(_), None) => Err(T.refuse(
                r,
                base + 1,
                "is not a timestamp, while the key's active column is set",
            )),
        }
    };
    T.rows(
        conn,
        "SELECT user, arn, user_creation_time, password_enabled, password_last_used, password_last_changed, mfa_active,
                access_key_1_active, access_key_1_last_rotated, access_key_1_last_used,
                access_key_2_active, access_key_2_last_rotated, access_key_2_last_used
         FROM iam_credential_report ORDER BY rowid",
        |r| {
            Ok(CredentialReportRow {
                user: r.get(0)?,
                arn: r.get(1)?,
                user_creation_time: T.time(r, 2)?,
                password_enabled: T.flag(r, 3)?,
                password_last_used: T.time_opt(r, 4)?,
                password_last_changed: T.time_opt(r, 5)?,
                mfa_active: T.flag(r, 6)?,
                access_key_1: key_slot(r, 7)?,
                access_key_2: key_slot(r, 10)?,
            })
        },
    )
}
