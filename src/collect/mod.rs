//! `collect`: one target's IAM, AWS Config and S3 state into a snapshot.
//!
//! Services are read concurrently; every failure becomes a [`Problem`] in the snapshot
//! (so the rules that needed that data report `error`), never an empty list that would
//! pass. Retries are the SDK's (`--retry-mode`: adaptive by default), with retry state
//! of each collection's own ([`aws::Clients`]).

// A Problem is the error of every collector: large, but built at most once per section
// and request, never on a hot path.
#![allow(clippy::result_large_err)]

pub mod answers;
pub mod aws;
pub mod config;
pub mod iam;
pub mod permissions;
pub mod s3;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::stream::{self, StreamExt};

use self::aws::Clients;
pub use self::aws::Connection;
use crate::model::{Account, AwsConfig, Iam, Metadata, Problem, Section, S3};
use crate::targets::Target;

/// What happened to one target.
#[derive(Debug)]
pub struct Collected {
    pub target: String,
    pub account_id: String,
    /// The snapshot written, if it could be written.
    pub snapshot: Option<PathBuf>,
    pub requests: u64,
    pub elapsed: Duration,
    pub problems: Vec<Problem>,
    pub write_error: Option<String>,
}

impl Collected {
    /// Whether the target was read completely and its snapshot written.
    pub fn clean(&self) -> bool {
        self.problems.is_empty() && self.write_error.is_none()
    }
}

/// The regions to read AWS Config from: the target's `Regions`, else `--region`, else
/// the SDK's default region (environment, profile), else us-east-1.
pub async fn regions_for(target: &Target, conn: &Connection) -> Vec<String> {
    if !target.regions.is_empty() {
        return target.regions.clone();
    }
    if !conn.regions.is_empty() {
        return conn.regions.clone();
    }
    let mut chain = aws_config::default_provider::region::DefaultRegionChain::builder();
    if let Some(p) = &target.profile {
        chain = chain.profile_name(p);
    }
    match chain.build().region().await {
        Some(r) => vec![r.to_string()],
        None => vec!["us-east-1".to_string()],
    }
}

/// The problem of a target whose credentials could not be set up.
pub fn missing_credentials(e: aws::CredentialsError) -> Problem {
    Problem {
        section: Section::Identity,
        operation: "credentials".into(),
        error_code: "MissingCredentials".into(),
        message: e.0,
        region: None,
        resource: None,
    }
}

/// An account with only its metadata, and the clients to read the rest: credentials
/// are set up and the caller's identity asked. `None` when that failed (the problem is
/// in the account).
pub async fn connect(target: &Target, conn: &Connection) -> (Account, Option<Clients>) {
    let regions = regions_for(target, conn).await;
    let home = regions[0].clone();
    let mut account = Account {
        metadata: Metadata {
            target: target.name.clone(),
            account_id: "unknown".into(),
            caller_arn: String::new(),
            collected_at: Utc::now(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            account_name: target.member.as_ref().and_then(|m| m.account_name.clone()),
            regions,
        },
        iam: Iam::default(),
        config: AwsConfig::default(),
        s3: S3::default(),
        problems: Vec::new(),
        api_calls: Default::default(),
    };
    let counter = aws::ApiCounter::default();
    let sdk = match aws::sdk_config(target, conn, &home, &counter).await {
        Ok(s) => s,
        Err(p) => {
            account.problems.push(p);
            account.api_calls = counter.snapshot();
            return (account, None);
        }
    };
    let clients = Clients::new(sdk, conn.endpoint_url.clone(), counter);
    match iam::collect_identity(&clients.sts).await {
        // Credentials that reach another account than the target's (a member role that
        // lands elsewhere, a RoleArn of another account): nothing read there is this
        // target's.
        Ok((id, _)) if target.expected_account().is_some_and(|want| want != id) => {
            account.problems.push(Problem {
                section: Section::Identity,
                operation: "sts:GetCallerIdentity".into(),
                error_code: "WrongAccount".into(),
                message: format!(
                    "the credentials of target {} reach account {id}, not account {}",
                    target.name,
                    target.expected_account().unwrap_or_default()
                ),
                region: None,
                resource: None,
            });
            account.api_calls = clients.counter.snapshot();
            (account, None)
        }
        Ok((id, arn)) => {
            account.metadata.account_id = id;
            account.metadata.caller_arn = arn;
            (account, Some(clients))
        }
        Err(p) => {
            // Without the account's identity nothing else can be attributed to it.
            account.problems.push(p);
            account.api_calls = clients.counter.snapshot();
            (account, None)
        }
    }
}

/// Reads one account. Never fails: what could not be read is in `problems`.
pub async fn collect_account(
    target: &Target,
    conn: &Connection,
    progress: &(dyn Fn(&str) + Sync),
) -> Account {
    progress("identity");
    let (mut account, clients) = connect(target, conn).await;
    let Some(clients) = clients else {
        return account;
    };
    let regions = account.metadata.regions.clone();
    let home = regions[0].clone();
    // Results of every rule CloudKestrel knows, not only the ones configured now: a
    // snapshot can be evaluated later with more rules.
    let audited: Vec<&str> = crate::rules::RULES
        .iter()
        .filter_map(|r| r.meta().source_identifier)
        .collect();
    progress("IAM, AWS Config, S3");
    let account_id = account.metadata.account_id.clone();
    let (iam_part, config_part, s3_part) = tokio::join!(
        collect_iam(&clients),
        collect_config(&clients, &regions, &audited),
        collect_s3(&clients, &home, &account_id),
    );
    let (iam_data, mut problems) = iam_part;
    let (config_data, p) = config_part;
    problems.extend(p);
    let (s3_data, p) = s3_part;
    problems.extend(p);
    tracing::debug!(
        "{}: {} users, {} groups, {} roles, {} customer managed policies, {} credential report rows; AWS Config in {} region(s); {} buckets",
        target.name,
        iam_data.users.len(),
        iam_data.groups.len(),
        iam_data.roles.len(),
        iam_data.policies.len(),
        iam_data.credential_report.len(),
        config_data.regions.len(),
        s3_data.buckets.len()
    );
    for p in &problems {
        tracing::debug!(
            "{}: {} {} failed: {} {}",
            target.name,
            p.section.as_str(),
            p.operation,
            p.error_code,
            p.message
        );
    }
    account.iam = iam_data;
    account.config = config_data;
    account.s3 = s3_data;
    account.problems.extend(problems);
    account.api_calls = clients.counter.snapshot();
    account
}

async fn collect_iam(c: &Clients) -> (Iam, Vec<Problem>) {
    let (details, report, summary, password, mfa) = tokio::join!(
        iam::collect_authorization_details(&c.iam),
        iam::collect_credential_report(&c.iam),
        iam::collect_account_summary(&c.iam),
        iam::collect_password_policy(&c.iam),
        iam::collect_virtual_mfa(&c.iam),
    );
    let mut problems = Vec::new();
    let mut out = match keep(details, &mut problems) {
        Some((iam, unreadable_documents)) => {
            problems.extend(unreadable_documents);
            iam
        }
        None => Iam::default(),
    };
    if let Some(r) = keep(report, &mut problems) {
        out.credential_report = r;
    }
    if let Some(s) = keep(summary, &mut problems) {
        out.account_summary = s;
    }
    if let Some(p) = keep(password, &mut problems) {
        out.password_policy = p;
    }
    if let Some(m) = keep(mfa, &mut problems) {
        out.virtual_mfa_devices = m;
    }
    (out, problems)
}

/// The value of a collector, its problem recorded when it failed.
fn keep<T>(r: Result<T, Problem>, problems: &mut Vec<Problem>) -> Option<T> {
    r.map_err(|p| problems.push(p)).ok()
}

async fn collect_config(
    c: &Clients,
    regions: &[String],
    audited: &[&str],
) -> (AwsConfig, Vec<Problem>) {
    let results: Vec<_> = stream::iter(regions)
        .map(|r| async move { config::collect_region(&c.config(r), r, audited).await })
        .buffered(4)
        .collect()
        .await;
    let mut out = AwsConfig::default();
    let mut problems = Vec::new();
    for (region, p) in results {
        out.regions.push(region);
        problems.extend(p);
    }
    (out, problems)
}

async fn collect_s3(c: &Clients, home: &str, account_id: &str) -> (S3, Vec<Problem>) {
    let home_client = c.s3(home);
    let (pab, listed) = tokio::join!(
        s3::collect_account_public_access_block(&c.s3control, account_id),
        s3::list_buckets(&home_client),
    );
    let mut problems = Vec::new();
    let mut out = S3::default();
    if let Some(p) = keep(pab, &mut problems) {
        out.account_public_access_block = p;
    }
    match listed {
        Ok(listed) => {
            let (buckets, p) = s3::collect_buckets(&home_client, listed, |r| c.s3(r)).await;
            out.buckets = buckets;
            problems.extend(p);
        }
        Err(p) => problems.push(p),
    }
    (out, problems)
}

/// `<dir>/<target>/<UTC timestamp>.sqlite`, named when written.
fn snapshot_path(dir: &Path, target: &str) -> PathBuf {
    let base = dir.join(target);
    loop {
        let name = format!("{}.sqlite", Utc::now().format("%Y-%m-%dT%H-%M-%SZ"));
        let path = base.join(name);
        if !path.exists() {
            return path;
        }
        // Two collections of one target within a second: names must stay unique and
        // sortable, so wait for the next second.
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Collects one target and writes its snapshot.
pub async fn collect_target(
    target: &Target,
    conn: &Connection,
    dir: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Collected {
    let start = Instant::now();
    let account = collect_account(target, conn, progress).await;
    let elapsed = start.elapsed();
    progress("writing snapshot");
    let path = snapshot_path(dir, &target.name);
    let (snapshot, write_error) = match crate::snapshot::write(&path, &account) {
        Ok(()) => (Some(path), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Collected {
        target: target.name.clone(),
        account_id: account.metadata.account_id.clone(),
        snapshot,
        requests: account.api_calls.values().sum(),
        elapsed,
        problems: account.problems,
        write_error,
    }
}

/// Collects several targets, at most `jobs` at a time, each account's snapshot written
/// and its model dropped as soon as it is read (memory does not grow with the number of
/// targets); `done` hears of each as it completes. Results are in target order.
pub async fn collect_all<'a>(
    targets: &[&'a Target],
    conn: &Connection,
    dir: &Path,
    jobs: usize,
    progress: &(dyn Fn(&str, &str) + Sync),
    done: &(dyn Fn(&Collected) + Sync),
) -> Vec<Collected> {
    let mut out: Vec<Collected> = stream::iter(targets.iter().copied())
        .map(|t| async move {
            let p = |step: &str| progress(&t.name, step);
            let c = collect_target(t, conn, dir, &p).await;
            done(&c);
            c
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    out.sort_by(|a, b| a.target.cmp(&b.target));
    out
}
