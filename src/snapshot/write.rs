//! The snapshot writer: an [`Account`] into a sealed SQLite file, atomically.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection};
use serde_json::Value;

use super::temp::{Persisted, TempFile};
use super::{schema, seal, SnapshotError};
use crate::model::*;

fn ts(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn ts_opt(d: &Option<DateTime<Utc>>) -> Option<String> {
    d.as_ref().map(ts)
}

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).expect("a serde_json::Value always serialises")
}

/// Writes `account` to `path` atomically: a temporary file in the same directory
/// (`.<name>.tmp-<PID>`) is filled in one transaction, sealed (see [`seal`]), flushed
/// to disk and renamed into place only when complete; the directory is flushed after
/// the rename. Whatever fails, the temporary file is removed.
///
/// An account holding a value outside its domain ([`Account::check_domains`]) is not
/// written: the reader would refuse the snapshot. A write in progress when
/// [`abandon_writes`](super::abandon_writes) is called stops and leaves nothing.
pub fn write(path: &Path, account: &Account) -> Result<(), SnapshotError> {
    let werr = |reason: String| SnapshotError::write(path, reason);
    account
        .check_domains()
        .map_err(|e| werr(format!("the account holds a value a snapshot cannot: {e}")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| werr(e.to_string()))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| werr("not a file path".into()))?
        .to_string_lossy()
        .into_owned();
    let tmp = TempFile::begin(&dir, &file_name).ok_or_else(|| interrupted(path))?;
    let result = (|| -> rusqlite::Result<()> {
        let mut conn = Connection::open(tmp.path())?;
        tmp.watch(&conn)?;
        conn.pragma_update(None, "journal_mode", "MEMORY")?;
        schema::migrate_to(&mut conn, schema::CURRENT_VERSION)?;
        let tx = conn.transaction()?;
        insert_account(&tx, account)?;
        tx.commit()?;
        conn.close().map_err(|(_, e)| e)
    })()
    .map_err(|e| e.to_string())
    .and_then(|()| append_seal(tmp.path()).map_err(|e| e.to_string()));
    if let Err(e) = result {
        // An interrupted statement fails with SQLite's "interrupted": say why.
        return Err(if tmp.abandoned() {
            interrupted(path)
        } else {
            werr(e)
        });
    }
    match tmp.persist(path) {
        Persisted::Done => {}
        Persisted::Abandoned => return Err(interrupted(path)),
        Persisted::Failed(e) => return Err(werr(e.to_string())),
    }
    sync_dir(&dir).map_err(|e| {
        werr(format!(
            "{}: cannot flush the directory: {e}",
            dir.display()
        ))
    })
}

fn interrupted(path: &Path) -> SnapshotError {
    SnapshotError::Interrupted {
        path: path.to_path_buf(),
    }
}

/// Flushes a directory, so that a rename into it survives a crash: without it the new
/// snapshot is complete on disk but its name may not be. File systems that cannot sync
/// a directory (they answer "invalid argument" or "unsupported") are taken as they are.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Ends the finished SQLite file with its [`seal`].
fn append_seal(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let content = std::fs::read(path)?;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(&seal::seal(&content))?;
    file.sync_all()
}

fn insert_account(tx: &rusqlite::Transaction<'_>, a: &Account) -> rusqlite::Result<()> {
    let m = &a.metadata;
    tx.execute(
        "INSERT INTO snapshot_info VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            m.target,
            m.account_id,
            m.caller_arn,
            ts(&m.collected_at),
            m.tool_version,
            m.account_name
        ],
    )?;
    for r in &m.regions {
        tx.execute("INSERT OR IGNORE INTO regions VALUES (?1)", [r])?;
    }

    let iam = &a.iam;
    for u in &iam.users {
        tx.execute(
            "INSERT INTO iam_users VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                u.name,
                u.arn,
                u.user_id,
                u.path,
                ts(&u.created),
                u.permissions_boundary
            ],
        )?;
        for g in &u.groups {
            tx.execute(
                "INSERT INTO iam_group_members VALUES (?1, ?2)",
                [g, &u.name],
            )?;
        }
        insert_principal_policies(
            tx,
            "user",
            &u.name,
            &u.attached_policies,
            &u.inline_policies,
        )?;
    }
    for g in &iam.groups {
        tx.execute(
            "INSERT INTO iam_groups VALUES (?1, ?2, ?3)",
            [&g.name, &g.arn, &g.path],
        )?;
        insert_principal_policies(
            tx,
            "group",
            &g.name,
            &g.attached_policies,
            &g.inline_policies,
        )?;
    }
    for r in &iam.roles {
        tx.execute(
            "INSERT INTO iam_roles VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                r.name,
                r.arn,
                r.path,
                r.trust_policy.as_ref().map(json_text),
                r.permissions_boundary
            ],
        )?;
        insert_principal_policies(
            tx,
            "role",
            &r.name,
            &r.attached_policies,
            &r.inline_policies,
        )?;
    }
    for p in &iam.policies {
        tx.execute(
            "INSERT INTO iam_policies (arn, name, path, default_version_id, attachment_count, permissions_boundary_usage_count, policy_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                p.arn,
                p.name,
                p.path,
                p.default_version_id,
                p.attachment_count,
                p.permissions_boundary_usage_count,
                p.policy_id
            ],
        )?;
        for v in &p.versions {
            tx.execute(
                "INSERT INTO iam_policy_versions VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.arn,
                    v.version_id,
                    ts_opt(&v.created),
                    v.version_id == p.default_version_id,
                    json_text(&v.document)
                ],
            )?;
        }
    }
    for r in &iam.credential_report {
        let k = |s: &Option<AccessKeySlot>| {
            (
                s.as_ref().map(|k| k.active),
                s.as_ref().map(|k| ts(&k.last_rotated)),
                s.as_ref().and_then(|k| ts_opt(&k.last_used)),
            )
        };
        let (a1, r1, u1) = k(&r.access_key_1);
        let (a2, r2, u2) = k(&r.access_key_2);
        tx.execute(
            "INSERT INTO iam_credential_report VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
            params![
                r.user,
                r.arn,
                ts(&r.user_creation_time),
                r.password_enabled,
                ts_opt(&r.password_last_used),
                ts_opt(&r.password_last_changed),
                r.mfa_active,
                a1,
                r1,
                u1,
                a2,
                r2,
                u2
            ],
        )?;
    }
    for (k, v) in &iam.account_summary {
        tx.execute(
            "INSERT INTO iam_account_summary VALUES (?1, ?2)",
            params![k, v],
        )?;
    }
    if let Some(pp) = &iam.password_policy {
        tx.execute(
            "INSERT INTO iam_password_policy VALUES (?1)",
            [json_text(pp)],
        )?;
    }
    for d in &iam.virtual_mfa_devices {
        tx.execute(
            "INSERT INTO iam_virtual_mfa_devices VALUES (?1, ?2, ?3)",
            params![d.serial_number, d.user_arn, ts_opt(&d.enabled_at)],
        )?;
    }

    for reg in &a.config.regions {
        let region = &reg.region;
        tx.execute("INSERT INTO config_regions VALUES (?1)", [region])?;
        for r in &reg.recorders {
            tx.execute(
                "INSERT INTO config_recorders VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    region,
                    r.name,
                    r.role_arn,
                    r.all_supported,
                    r.include_global_resource_types,
                    r.recording,
                    r.last_status,
                    r.recording_strategy
                ],
            )?;
            for (listed_as, types) in [
                ("included", &r.resource_types),
                ("excluded", &r.excluded_resource_types),
            ] {
                for t in types {
                    tx.execute(
                        "INSERT INTO config_recorder_types VALUES (?1, ?2, ?3, ?4)",
                        [region, &r.name, listed_as, t],
                    )?;
                }
            }
        }
        for d in &reg.delivery_channels {
            tx.execute(
                "INSERT INTO config_delivery_channels VALUES (?1, ?2, ?3, ?4)",
                params![region, d.name, d.s3_bucket_name, d.sns_topic_arn],
            )?;
        }
        for r in &reg.rules {
            tx.execute(
                "INSERT INTO config_rules VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    region,
                    r.name,
                    r.arn,
                    r.source_owner,
                    r.source_identifier,
                    r.input_parameters,
                    r.maximum_execution_frequency,
                    r.state
                ],
            )?;
        }
        for c in &reg.compliance {
            tx.execute(
                "INSERT INTO config_compliance VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    region,
                    c.config_rule_name,
                    c.resource_type,
                    c.resource_id,
                    c.compliance,
                    ts_opt(&c.recorded_at),
                    c.annotation
                ],
            )?;
        }
    }

    if let Some(b) = &a.s3.account_public_access_block {
        tx.execute(
            "INSERT INTO s3_account_public_access_block VALUES (?1, ?2, ?3, ?4)",
            params![
                b.block_public_acls,
                b.ignore_public_acls,
                b.block_public_policy,
                b.restrict_public_buckets
            ],
        )?;
    }
    for b in &a.s3.buckets {
        tx.execute(
            "INSERT INTO s3_buckets VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                b.name,
                b.region,
                ts_opt(&b.created),
                b.policy.as_ref().map(json_text),
                b.ownership_controls
            ],
        )?;
        for g in &b.acl_grants {
            tx.execute(
                "INSERT INTO s3_bucket_acl_grants VALUES (?1, ?2, ?3, ?4)",
                [&b.name, &g.grantee_type, &g.grantee, &g.permission],
            )?;
        }
        if let Some(p) = &b.public_access_block {
            tx.execute(
                "INSERT INTO s3_bucket_public_access_blocks VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    b.name,
                    p.block_public_acls,
                    p.ignore_public_acls,
                    p.block_public_policy,
                    p.restrict_public_buckets
                ],
            )?;
        }
    }

    for p in &a.problems {
        tx.execute(
            "INSERT INTO problems (section, operation, error_code, message, region, resource) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![p.section.as_str(), p.operation, p.error_code, p.message, p.region, p.resource],
        )?;
    }
    for (op, n) in &a.api_calls {
        tx.execute(
            "INSERT INTO api_calls VALUES (?1, ?2)",
            params![op, *n as i64],
        )?;
    }
    Ok(())
}

fn insert_principal_policies(
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    name: &str,
    attached: &[String],
    inline: &[InlinePolicy],
) -> rusqlite::Result<()> {
    for arn in attached {
        tx.execute(
            "INSERT INTO iam_policy_attachments VALUES (?1, ?2, ?3)",
            [arn, kind, name],
        )?;
    }
    for p in inline {
        tx.execute(
            "INSERT INTO iam_inline_policies VALUES (?1, ?2, ?3, ?4)",
            [kind, name, &p.name, &json_text(&p.document)],
        )?;
    }
    Ok(())
}
