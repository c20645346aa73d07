//! The snapshot reader: a verified file ([`super::open`]) into an [`Account`], every
//! value read strictly ([`super::column`]): a value outside what the writer stores is
//! a refusal naming the table, column, row and value, never a lenient reading.

// foldhash, not std's SipHash: hashing was a twentieth of `evaluate` at scale (issue 5).
use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use rusqlite::{Connection, ErrorCode, Row};

use super::column::{orphans, refusal, Table};
use super::open::{open_unverified, open_verified};
use super::read_iam::load_iam;
use super::{schema, SnapshotError};
use crate::model::*;

const INFO: Table = Table::new("snapshot_info", &[]);
const REGIONS: Table = Table::new("regions", &[]);
const CONFIG_REGIONS: Table = Table::new("config_regions", &[]);
const RECORDERS: Table = Table::new("config_recorders", &[0, 1]);
const RECORDER_TYPES: Table = Table::new("config_recorder_types", &[0, 1]);
const CHANNELS: Table = Table::new("config_delivery_channels", &[0, 1]);
const RULES: Table = Table::new("config_rules", &[0, 1]);
const COMPLIANCE: Table = Table::new("config_compliance", &[0, 1, 3]);
const ACCOUNT_BLOCK: Table = Table::new("s3_account_public_access_block", &[]);
const GRANTS: Table = Table::new("s3_bucket_acl_grants", &[0, 2]);
const BUCKET_BLOCKS: Table = Table::new("s3_bucket_public_access_blocks", &[0]);
const BUCKETS: Table = Table::new("s3_buckets", &[0]);
const PROBLEMS: Table = Table::new("problems", &[1]);
const API_CALLS: Table = Table::new("api_calls", &[0]);

/// The target name recorded in a snapshot, without loading the rest.
///
/// Without the integrity check: `read` does it when the snapshot is evaluated, and a
/// snapshot given on the command line is not checked twice. A damaged name cannot give
/// a verdict under another target: the name only chooses which target's rules the
/// snapshot is evaluated against, and `evaluate` then reads the sealed file and refuses
/// it when the name it holds is not that target's (an error report, never a verdict);
/// a damaged file is refused by that read in any case.
///
/// When the name cannot be read, the file is checked after all, so that a damaged one
/// is called damaged (SQLite reading a damaged page there said "malformed", which read
/// as content some other program wrote).
pub fn peek_target(path: &Path) -> Result<String, SnapshotError> {
    let conn = open_unverified(path)?;
    let names = INFO
        .rows(&conn, "SELECT target FROM snapshot_info", |r| r.get(0))
        .and_then(|rows| INFO.one(rows));
    names.map_err(|e| match open_verified(path) {
        Err(damaged) => damaged,
        Ok(_) => to_snapshot_error(path, e),
    })
}

/// Loads the snapshot at `path`.
pub fn read(path: &Path) -> Result<Account, SnapshotError> {
    let (mut conn, version) = open_verified(path)?;
    if version < schema::CURRENT_VERSION {
        // Upgrade the copy in memory: archived snapshots stay as they were written.
        schema::migrate_to(&mut conn, schema::CURRENT_VERSION).map_err(|e| {
            SnapshotError::corrupt(path, format!("upgrading from schema {version}: {e}"))
        })?;
    }
    schema::check_exact(&conn).map_err(|why| SnapshotError::invalid(path, why))?;
    load_account(&conn).map_err(|e| to_snapshot_error(path, e))
}

/// A refusal, or SQLite's own error reading a verified file: damage SQLite sees (only
/// possible in an unsealed, older snapshot) or content no cloudkestrel writes.
fn to_snapshot_error(path: &Path, e: rusqlite::Error) -> SnapshotError {
    if let Some(reason) = refusal(&e) {
        return SnapshotError::invalid(path, reason);
    }
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase | ErrorCode::SystemIoFailure) => {
            SnapshotError::corrupt(path, e)
        }
        _ => SnapshotError::invalid(path, e),
    }
}

fn load_account(conn: &Connection) -> rusqlite::Result<Account> {
    let metadata = INFO.one(INFO.rows(
        conn,
        "SELECT target, account_id, caller_arn, collected_at, tool_version, account_name FROM snapshot_info",
        |r| {
            Ok(Metadata {
                target: r.get(0)?,
                account_id: r.get(1)?,
                caller_arn: r.get(2)?,
                collected_at: INFO.time(r, 3)?,
                tool_version: r.get(4)?,
                account_name: r.get(5)?,
                regions: Vec::new(),
            })
        },
    )?)?;
    let regions = REGIONS.rows(conn, "SELECT region FROM regions ORDER BY rowid", |r| {
        r.get(0)
    })?;
    Ok(Account {
        metadata: Metadata {
            regions,
            ..metadata
        },
        iam: load_iam(conn)?,
        config: load_config(conn)?,
        s3: load_s3(conn)?,
        problems: PROBLEMS.rows(
            conn,
            "SELECT section, operation, error_code, message, region, resource FROM problems ORDER BY rowid",
            |r| {
                let section = r.get_ref(0)?.as_str().ok().and_then(Section::parse);
                Ok(Problem {
                    section: section.ok_or_else(|| PROBLEMS.refuse(r, 0, "is not a section"))?,
                    operation: r.get(1)?,
                    error_code: r.get(2)?,
                    message: r.get(3)?,
                    region: r.get(4)?,
                    resource: r.get(5)?,
                })
            },
        )?,
        api_calls: API_CALLS
            .rows(conn, "SELECT operation, count FROM api_calls", |r| {
                Ok((r.get::<_, String>(0)?, API_CALLS.count(r, 1)? as u64))
            })?
            .into_iter()
            .collect(),
    })
}

fn load_config(conn: &Connection) -> rusqlite::Result<AwsConfig> {
    let mut regions: Vec<ConfigRegion> = CONFIG_REGIONS.rows(
        conn,
        "SELECT region FROM config_regions ORDER BY rowid",
        |r| {
            Ok(ConfigRegion {
                region: r.get(0)?,
                recorders: Vec::new(),
                delivery_channels: Vec::new(),
                rules: Vec::new(),
                compliance: Vec::new(),
            })
        },
    )?;
    let index: HashMap<String, usize> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.region.clone(), i))
        .collect();
    // The region (column 0) of a row, which config_regions must hold.
    let region_of = |t: &Table, r: &Row<'_>| {
        r.get_ref(0)?
            .as_str()
            .ok()
            .and_then(|region| index.get(region).copied())
            .ok_or_else(|| t.refuse(r, 0, "is not a region of config_regions"))
    };
    for (at, rec) in RECORDERS.rows(
        conn,
        "SELECT region, name, role_arn, all_supported, include_global_resource_types, recording, last_status, recording_strategy FROM config_recorders ORDER BY rowid",
        |r| {
            Ok((
                region_of(&RECORDERS, r)?,
                ConfigRecorder {
                    name: r.get(1)?,
                    role_arn: r.get(2)?,
                    all_supported: RECORDERS.flag(r, 3)?,
                    include_global_resource_types: RECORDERS.flag(r, 4)?,
                    recording: RECORDERS.flag(r, 5)?,
                    last_status: r.get(6)?,
                    recording_strategy: RECORDERS.one_of_opt(
                        r,
                        7,
                        &ConfigRecorder::RECORDING_STRATEGIES,
                    )?,
                    resource_types: Vec::new(),
                    excluded_resource_types: Vec::new(),
                },
            ))
        },
    )? {
        regions[at].recorders.push(rec);
    }
    // Each type a recording group lists, of a recorder the snapshot holds.
    let mut unowned = Vec::new();
    for (at, (recorder, listed_as, resource_type)) in RECORDER_TYPES.rows(
        conn,
        "SELECT region, recorder, listed_as, resource_type FROM config_recorder_types ORDER BY rowid",
        |r| {
            let listed_as = match r.get_ref(2)?.as_str().ok() {
                Some("included") => true,
                Some("excluded") => false,
                _ => return Err(RECORDER_TYPES.refuse(r, 2, "is not included or excluded")),
            };
            Ok((
                region_of(&RECORDER_TYPES, r)?,
                (r.get::<_, String>(1)?, listed_as, r.get::<_, String>(3)?),
            ))
        },
    )? {
        match regions[at].recorders.iter_mut().find(|x| x.name == recorder) {
            Some(rec) if listed_as => rec.resource_types.push(resource_type),
            Some(rec) => rec.excluded_resource_types.push(resource_type),
            None => unowned.push(format!("recorder {recorder:?} in {}", regions[at].region)),
        }
    }
    orphans(unowned, "recorded types of", "config_recorder_types")?;
    for (at, ch) in CHANNELS.rows(
        conn,
        "SELECT region, name, s3_bucket_name, sns_topic_arn FROM config_delivery_channels ORDER BY rowid",
        |r| {
            Ok((
                region_of(&CHANNELS, r)?,
                DeliveryChannel { name: r.get(1)?, s3_bucket_name: r.get(2)?, sns_topic_arn: r.get(3)? },
            ))
        },
    )? {
        regions[at].delivery_channels.push(ch);
    }
    for (at, rule) in RULES.rows(
        conn,
        "SELECT region, name, arn, source_owner, source_identifier, input_parameters, maximum_execution_frequency, state FROM config_rules ORDER BY rowid",
        |r| {
            Ok((
                region_of(&RULES, r)?,
                ConfigRule {
                    name: r.get(1)?,
                    arn: r.get(2)?,
                    source_owner: RULES.one_of(r, 3, &ConfigRule::SOURCE_OWNERS)?,
                    source_identifier: r.get(4)?,
                    input_parameters: r.get(5)?,
                    maximum_execution_frequency: RULES.one_of_opt(r, 6, &ConfigRule::EXECUTION_FREQUENCIES)?,
                    state: RULES.one_of_opt(r, 7, &ConfigRule::STATES)?,
                },
            ))
        },
    )? {
        regions[at].rules.push(rule);
    }
    for (at, c) in COMPLIANCE.rows(
        conn,
        "SELECT region, config_rule_name, resource_type, resource_id, compliance, recorded_at, annotation FROM config_compliance ORDER BY rowid",
        |r| {
            Ok((
                region_of(&COMPLIANCE, r)?,
                ComplianceResult {
                    config_rule_name: r.get(1)?,
                    resource_type: r.get(2)?,
                    resource_id: r.get(3)?,
                    compliance: COMPLIANCE.one_of(r, 4, &ComplianceResult::COMPLIANCE)?,
                    recorded_at: COMPLIANCE.time_opt(r, 5)?,
                    annotation: r.get(6)?,
                },
            ))
        },
    )? {
        regions[at].compliance.push(c);
    }
    Ok(AwsConfig { regions })
}

/// The four flags of a public access block, from column `base` on.
fn public_access_block(t: &Table, r: &Row<'_>, base: usize) -> rusqlite::Result<PublicAccessBlock> {
    Ok(PublicAccessBlock {
        block_public_acls: t.flag(r, base)?,
        ignore_public_acls: t.flag(r, base + 1)?,
        block_public_policy: t.flag(r, base + 2)?,
        restrict_public_buckets: t.flag(r, base + 3)?,
    })
}

fn load_s3(conn: &Connection) -> rusqlite::Result<S3> {
    let account_public_access_block = ACCOUNT_BLOCK.at_most_one(ACCOUNT_BLOCK.rows(
        conn,
        "SELECT block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets FROM s3_account_public_access_block",
        |r| public_access_block(&ACCOUNT_BLOCK, r, 0),
    )?)?;
    let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
    for (bucket, g) in GRANTS.rows(
        conn,
        "SELECT bucket, grantee_type, grantee, permission FROM s3_bucket_acl_grants ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                Grant {
                    grantee_type: GRANTS.one_of(r, 1, &Grant::GRANTEE_TYPES)?,
                    grantee: r.get(2)?,
                    permission: GRANTS.one_of(r, 3, &Grant::PERMISSIONS)?,
                },
            ))
        },
    )? {
        grants.entry(bucket).or_default().push(g);
    }
    let mut blocks: HashMap<String, PublicAccessBlock> = BUCKET_BLOCKS
        .rows(
            conn,
            "SELECT bucket, block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets FROM s3_bucket_public_access_blocks",
            |r| Ok((r.get::<_, String>(0)?, public_access_block(&BUCKET_BLOCKS, r, 1)?)),
        )?
        .into_iter()
        .collect();
    let buckets = BUCKETS
        .rows(
            conn,
            "SELECT name, region, created, policy, ownership_controls FROM s3_buckets ORDER BY rowid",
            |r| {
                Ok(Bucket {
                    name: r.get(0)?,
                    region: r.get(1)?,
                    created: BUCKETS.time_opt(r, 2)?,
                    policy: BUCKETS.document_opt(r, 3)?,
                    ownership_controls: BUCKETS.one_of_opt(r, 4, &Bucket::OBJECT_OWNERSHIP)?,
                    acl_grants: Vec::new(),
                    public_access_block: None,
                })
            },
        )?
        .into_iter()
        .map(|mut b| {
            b.acl_grants = grants.remove(&b.name).unwrap_or_default();
            b.public_access_block = blocks.remove(&b.name);
            b
        })
        .collect();
    // A grant or a public access block of a bucket the snapshot does not hold is
    // refused, like a policy of a missing user: it belongs to some bucket.
    orphans(
        grants
            .into_keys()
            .chain(blocks.into_keys())
            .map(|b| format!("bucket {}", quoted(&b)))
            .collect(),
        "ACL grants or public access blocks of buckets",
        "s3_bucket_acl_grants or s3_bucket_public_access_blocks",
    )?;
    Ok(S3 {
        account_public_access_block,
        buckets,
    })
}
