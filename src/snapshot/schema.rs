//! The snapshot schema and its ordered migrations.
//!
//! `PRAGMA user_version` holds the schema version; `PRAGMA application_id` marks the file
//! as a CloudKestrel snapshot so that any other SQLite file is refused. Migrations only
//! ever append to [`MIGRATIONS`]: a released step is never edited, so a snapshot written
//! by any earlier release can be upgraded step by step.

use rusqlite::Connection;

/// `CKST` in ASCII.
pub const APPLICATION_ID: i32 = 0x434B_5354;

/// Each step upgrades from version `index` to `index + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE snapshot_info (
    target        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    caller_arn    TEXT NOT NULL,
    collected_at  TEXT NOT NULL,
    tool_version  TEXT NOT NULL
);
CREATE TABLE regions (region TEXT PRIMARY KEY);

CREATE TABLE iam_users (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, user_id TEXT NOT NULL, path TEXT NOT NULL,
    created TEXT NOT NULL, permissions_boundary TEXT
);
CREATE TABLE iam_groups (name TEXT PRIMARY KEY, arn TEXT NOT NULL, path TEXT NOT NULL);
CREATE TABLE iam_group_members (group_name TEXT NOT NULL, user_name TEXT NOT NULL);
CREATE TABLE iam_roles (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, path TEXT NOT NULL,
    trust_policy TEXT, permissions_boundary TEXT
);
CREATE TABLE iam_policies (
    arn TEXT PRIMARY KEY, name TEXT NOT NULL, path TEXT NOT NULL,
    default_version_id TEXT NOT NULL, attachment_count INTEGER NOT NULL,
    permissions_boundary_usage_count INTEGER NOT NULL
);
CREATE TABLE iam_policy_versions (
    policy_arn TEXT NOT NULL, version_id TEXT NOT NULL, created TEXT,
    is_default INTEGER NOT NULL, document TEXT NOT NULL
);
CREATE TABLE iam_policy_attachments (
    policy_arn TEXT NOT NULL, principal_type TEXT NOT NULL, principal_name TEXT NOT NULL
);
CREATE TABLE iam_inline_policies (
    principal_type TEXT NOT NULL, principal_name TEXT NOT NULL,
    policy_name TEXT NOT NULL, document TEXT NOT NULL
);
CREATE TABLE iam_credential_report (
    user TEXT PRIMARY KEY, arn TEXT NOT NULL, user_creation_time TEXT NOT NULL,
    password_enabled INTEGER NOT NULL, password_last_used TEXT, password_last_changed TEXT,
    mfa_active INTEGER NOT NULL,
    access_key_1_active INTEGER, access_key_1_last_rotated TEXT, access_key_1_last_used TEXT,
    access_key_2_active INTEGER, access_key_2_last_rotated TEXT, access_key_2_last_used TEXT
);
CREATE TABLE iam_account_summary (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE iam_password_policy (document TEXT NOT NULL);
CREATE TABLE iam_virtual_mfa_devices (
    serial_number TEXT PRIMARY KEY, user_arn TEXT, enabled_at TEXT
);

CREATE TABLE config_regions (region TEXT PRIMARY KEY);
CREATE TABLE config_recorders (
    region TEXT NOT NULL, name TEXT NOT NULL, role_arn TEXT,
    all_supported INTEGER NOT NULL, include_global_resource_types INTEGER NOT NULL,
    recording INTEGER NOT NULL, last_status TEXT
);
CREATE TABLE config_delivery_channels (
    region TEXT NOT NULL, name TEXT NOT NULL, s3_bucket_name TEXT, sns_topic_arn TEXT
);
CREATE TABLE config_rules (
    region TEXT NOT NULL, name TEXT NOT NULL, arn TEXT, source_owner TEXT NOT NULL,
    source_identifier TEXT NOT NULL, input_parameters TEXT,
    maximum_execution_frequency TEXT, state TEXT
);
CREATE TABLE config_compliance (
    region TEXT NOT NULL, config_rule_name TEXT NOT NULL, resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL, compliance TEXT NOT NULL, recorded_at TEXT, annotation TEXT
);

CREATE TABLE s3_account_public_access_block (
    block_public_acls INTEGER NOT NULL, ignore_public_acls INTEGER NOT NULL,
    block_public_policy INTEGER NOT NULL, restrict_public_buckets INTEGER NOT NULL
);
CREATE TABLE s3_buckets (
    name TEXT PRIMARY KEY, region TEXT NOT NULL, created TEXT, policy TEXT,
    ownership_controls TEXT
);
CREATE TABLE s3_bucket_acl_grants (
    bucket TEXT NOT NULL, grantee_type TEXT NOT NULL, grantee TEXT NOT NULL,
    permission TEXT NOT NULL
);
CREATE TABLE s3_bucket_public_access_blocks (
    bucket TEXT PRIMARY KEY,
    block_public_acls INTEGER NOT NULL, ignore_public_acls INTEGER NOT NULL,
    block_public_policy INTEGER NOT NULL, restrict_public_buckets INTEGER NOT NULL
);

CREATE TABLE problems (
    section TEXT NOT NULL, operation TEXT NOT NULL, error_code TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE api_calls (operation TEXT PRIMARY KEY, count INTEGER NOT NULL);
"#,
    // 2: a problem can be limited to one region and one resource (a bucket, a Config
    // rule), so one unreadable bucket no longer turns every bucket into an error.
    r#"
ALTER TABLE problems ADD COLUMN region TEXT;
ALTER TABLE problems ADD COLUMN resource TEXT;
"#,
    // 3: AWS Config reports on policies by their id (ANPA…), so keep it.
    r#"
ALTER TABLE iam_policies ADD COLUMN policy_id TEXT;
"#,
    // 4: no table changes. The file ends with a seal (a checksum of every byte before
    // it, see `snapshot::seal`), which readers require from this version on.
    r#"
SELECT 1;
"#,
    // 5: what a configuration recorder records (its recording group's strategy and
    // type lists): a change-triggered rule is evaluated only for recorded types. And
    // the account's name in its organization, for the members of an Organization entry.
    r#"
ALTER TABLE snapshot_info ADD COLUMN account_name TEXT;
ALTER TABLE config_recorders ADD COLUMN recording_strategy TEXT;
CREATE TABLE config_recorder_types (
    region TEXT NOT NULL, recorder TEXT NOT NULL, listed_as TEXT NOT NULL,
    resource_type TEXT NOT NULL
);
"#,
];

/// The schema version this build writes and reads.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the migrations from the file's version up to `target`, in one transaction.
pub fn migrate_to(conn: &mut Connection, target: i64) -> rusqlite::Result<()> {
    let from = user_version(conn)?;
    let tx = conn.transaction()?;
    for (i, step) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(from as usize)
    {
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()
}

/// One object of a database's schema as compared: its kind (`table`, `index`, `view`,
/// `trigger`), its name, its table, and for a table its columns (name, declared type,
/// NOT NULL, default, primary-key position, hidden).
#[derive(PartialEq, Eq)]
struct Object {
    kind: String,
    name: String,
    table: String,
    columns: Vec<(String, String, bool, Option<String>, i64, i64)>,
}

fn objects(conn: &Connection, text: &SchemaText) -> rusqlite::Result<Vec<Object>> {
    let mut columns = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
    )?;
    let mut out = Vec::with_capacity(text.len());
    for (kind, name, table, _) in text {
        let columns = if kind == "table" {
            columns
                .query_map([name], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?
        } else {
            Vec::new()
        };
        out.push(Object {
            kind: kind.clone(),
            name: name.clone(),
            table: table.clone(),
            columns,
        });
    }
    Ok(out)
}

/// The object of `list` of the kind and name of `o`.
fn find<'a>(list: &'a [Object], o: &Object) -> Option<&'a Object> {
    list.iter().find(|x| x.kind == o.kind && x.name == o.name)
}

/// Every object of a database's schema as SQLite stores it: kind, name, table and the
/// `CREATE` statement (none for SQLite's own indexes of a UNIQUE or PRIMARY KEY).
type SchemaText = Vec<(String, String, String, Option<String>)>;

fn schema_text(conn: &Connection) -> rusqlite::Result<SchemaText> {
    let mut stmt =
        conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    rows.collect()
}

/// The schema a snapshot of [`CURRENT_VERSION`] has, as text and as objects: the
/// migrations applied to an empty database, once.
fn ours() -> &'static (SchemaText, Vec<Object>) {
    static OURS: std::sync::OnceLock<(SchemaText, Vec<Object>)> = std::sync::OnceLock::new();
    OURS.get_or_init(|| {
        let mut conn = Connection::open_in_memory().expect("an in-memory database");
        migrate_to(&mut conn, CURRENT_VERSION).expect("the migrations apply");
        let text = schema_text(&conn).expect("the schema of the migrations reads");
        let objects = objects(&conn, &text).expect("the schema of the migrations reads");
        (text, objects)
    })
}

/// Checks that `conn` (a snapshot at [`CURRENT_VERSION`], upgraded if it was older) has
/// exactly CloudKestrel's schema: the same tables with the same columns, and no other
/// table, view, index or trigger. The reader only reads what it knows; a table added, a
/// column dropped or retyped means the file was made or edited by something else. The
/// error names every difference.
pub fn check_exact(conn: &Connection) -> Result<(), String> {
    use crate::model::quoted;
    // The fast path: SQLite builds a schema from these statements and nothing else, so
    // the same statements are the same schema. Comparing them instead of every table's
    // columns (pragma_table_xinfo, one query per table) took evaluate's instructions per
    // 1,000-user snapshot from 108.7 to 106.6 million (callgrind, -2 %); the column by
    // column comparison below runs only when they differ (an upgraded older snapshot, or
    // one to refuse), to decide and to say what differs.
    let unreadable = |e: rusqlite::Error| format!("its schema cannot be read: {e}");
    let (our_text, ours) = ours();
    let text = schema_text(conn).map_err(unreadable)?;
    if text == *our_text {
        return Ok(());
    }
    let theirs = objects(conn, &text).map_err(unreadable)?;
    let mut differences = Vec::new();
    for o in &theirs {
        match find(ours, o) {
            None => differences.push(format!(
                "{} {} is not in a CloudKestrel snapshot",
                o.kind,
                quoted(&o.name)
            )),
            Some(mine) if mine.table != o.table => differences.push(format!(
                "{} {} is on table {}, not {}",
                o.kind,
                quoted(&o.name),
                quoted(&o.table),
                mine.table
            )),
            Some(mine) if mine.columns != o.columns => {
                let show = |c: &Object| {
                    c.columns
                        .iter()
                        .map(|(n, t, not_null, d, pk, hidden)| {
                            let mut s = format!("{} {}", quoted(n), quoted(t));
                            if *not_null {
                                s.push_str(" NOT NULL");
                            }
                            if let Some(d) = d {
                                s.push_str(&format!(" DEFAULT {}", quoted(d)));
                            }
                            if *pk > 0 {
                                s.push_str(" PRIMARY KEY");
                            }
                            if *hidden > 0 {
                                s.push_str(" (hidden or generated)");
                            }
                            s
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                differences.push(format!(
                    "table {} has the columns ({}), not ({})",
                    quoted(&o.name),
                    show(o),
                    show(mine)
                ));
            }
            Some(_) => {}
        }
    }
    for mine in ours.iter().filter(|m| find(&theirs, m).is_none()) {
        differences.push(format!("{} {} is missing", mine.kind, quoted(&mine.name)));
    }
    // A file made to hold thousands of objects gets a message of ten.
    const SHOWN: usize = 10;
    if differences.len() > SHOWN {
        let more = differences.len() - SHOWN;
        differences.truncate(SHOWN);
        differences.push(format!("and {more} more"));
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "its schema is not CloudKestrel's: {}",
            differences.join("; ")
        ))
    }
}
