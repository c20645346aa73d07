//! Writes synthetic snapshots for the benchmark (`bench/run`, issue 5).
//!
//! Each snapshot is a realistic account built as a [`cloudkestrel::model::Account`] and
//! stored with the real writer, [`cloudkestrel::snapshot::write`], as
//! `<out>/<target>/<timestamp>.sqlite`, where `<target>` is `synth0000`, `synth0001`, …
//! and is also the snapshot's `metadata.target`. With `--targets FILE` it also writes a
//! targets.json that lists every target with all ten rules.
//!
//! The accounts vary with their index (which users have MFA, keys, groups, which
//! buckets are public, whether Force_MFA was weakened), so no two are the same:
//!
//! ```sh
//! cargo run --release --example synth -- --out /tmp/snaps --count 1000 \
//!     --users 1000 --buckets 100 --targets /tmp/targets.json
//! ```
//!
//! Snapshots are written in parallel (rayon; `RAYON_NUM_THREADS` applies).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::Parser;
use rayon::prelude::*;
use serde_json::{json, Value};

use cloudkestrel::model::*;

const FORCE_MFA: &str = include_str!("../policies/Force_MFA.json");
const SOURCE_IP: &str = include_str!("../policies/User_Source_IP_Restrictions.json");
const ALLOWED_IP: &str = "195.89.85.67";
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

#[derive(Parser)]
#[command(about = "Writes synthetic CloudKestrel snapshots for benchmarks")]
struct Args {
    /// The snapshot directory: <OUT>/<target>/<timestamp>.sqlite
    #[arg(long)]
    out: PathBuf,
    /// How many snapshots (one target each)
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// IAM users per account
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// S3 buckets per account
    #[arg(long, default_value_t = 100)]
    buckets: usize,
    /// Also write a targets.json listing every target with all ten rules
    #[arg(long)]
    targets: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let start = Instant::now();
    let collected_at = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap();
    let file_name = format!("{}.sqlite", collected_at.format("%Y-%m-%dT%H-%M-%SZ"));
    let written: Result<Vec<()>, String> = (0..args.count)
        .into_par_iter()
        .map(|i| {
            let account = account(i, args.users, args.buckets, collected_at);
            let path = args.out.join(&account.metadata.target).join(&file_name);
            cloudkestrel::snapshot::write(&path, &account).map_err(|e| e.to_string())
        })
        .collect();
    if let Err(e) = written {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    if let Some(file) = &args.targets {
        let text = serde_json::to_string_pretty(&targets_json(args.count)).unwrap();
        if let Err(e) = std::fs::write(file, text + "\n") {
            eprintln!("error: {}: {e}", file.display());
            std::process::exit(1);
        }
    }
    eprintln!(
        "wrote {} snapshots ({} users, {} buckets each) under {} in {:.1} s",
        args.count,
        args.users,
        args.buckets,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
}

fn target_name(i: usize) -> String {
    format!("synth{i:04}")
}

/// targets.json with every target and all ten rules, as targets.example.json has them.
fn targets_json(count: usize) -> Value {
    let rules = json!([
        { "Policy": { "Name": "Force_MFA", "IgnoreUsers": ["cloudkestrel-auditor"] } },
        { "Policy": { "Name": "User_Source_IP_Restrictions",
                      "Params": [ { "PARAM_1_SOURCE_IP": [ALLOWED_IP] } ] } },
        { "Config": { "Name": "IAM_ROOT_ACCESS_KEY_CHECK", "AddIfMissing": true } },
        { "Config": { "Name": "IAM_USER_MFA_ENABLED", "AddIfMissing": true,
                      "IgnoreUsers": ["cloudkestrel-auditor"] } },
        { "Config": { "Name": "IAM_USER_UNUSED_CREDENTIALS_CHECK", "AddIfMissing": true,
                      "Parameters": { "maxCredentialUsageAge": 90 } } },
        { "Config": { "Name": "IAM_USER_NO_POLICIES_CHECK", "AddIfMissing": true } },
        { "Config": { "Name": "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", "AddIfMissing": true } },
        { "Config": { "Name": "IAM_USER_GROUP_MEMBERSHIP_CHECK", "AddIfMissing": true } },
        { "Config": { "Name": "S3_BUCKET_PUBLIC_READ_PROHIBITED", "AddIfMissing": true } },
        { "Config": { "Name": "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "AddIfMissing": true } }
    ]);
    let targets: Vec<Value> = (0..count)
        .map(|i| {
            let mut one = serde_json::Map::new();
            one.insert(
                target_name(i),
                json!({
                    "Credentials": {
                        "AwsAccessKeyId": format!("SYNTH{i:04}_AWS_ACCESS_KEY_ID"),
                        "AwsSecretAccessKey": format!("SYNTH{i:04}_AWS_SECRET_ACCESS_KEY"),
                    },
                    "Rules": rules.clone(),
                }),
            );
            Value::Object(one)
        })
        .collect();
    json!({ "Targets": targets })
}

/// The same policy written differently: statements reversed, `Sid`s dropped, every
/// other action upper-cased. CloudKestrel must find it identical.
fn reordered(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(Value::Array(statements)) = doc.get_mut("Statement") {
        statements.reverse();
        for s in statements.iter_mut() {
            if let Value::Object(m) = s {
                m.remove("Sid");
                for key in ["Action", "NotAction"] {
                    if let Some(Value::Array(actions)) = m.get_mut(key) {
                        actions.reverse();
                        for (n, a) in actions.iter_mut().enumerate() {
                            if let (true, Value::String(s)) = (n % 2 == 1, &mut *a) {
                                *s = s.to_uppercase();
                            }
                        }
                    }
                }
            }
        }
    }
    doc
}

fn allow(action: Value, resource: &str) -> Value {
    json!({ "Version": "2012-10-17",
            "Statement": [ { "Effect": "Allow", "Action": action, "Resource": resource } ] })
}

/// A small deterministic generator, so every run writes the same accounts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn days_before(&mut self, t: DateTime<Utc>, max_days: u64) -> DateTime<Utc> {
        t - Duration::seconds(self.below(max_days * 86_400) as i64 + 60)
    }
}

fn key_slot(rng: &mut Rng, now: DateTime<Utc>) -> AccessKeySlot {
    let last_rotated = rng.days_before(now, 700);
    AccessKeySlot {
        active: rng.chance(85),
        last_rotated,
        last_used: rng
            .chance(80)
            .then(|| last_rotated + (now - last_rotated) / (1 + rng.below(9) as i32)),
    }
}

/// One synthetic account: `users` IAM users (plus the auditor), `buckets` buckets,
/// customer managed policies, roles, AWS Config in one region with four rules and their
/// results, and the API calls a collection of such an account makes.
fn account(i: usize, users: usize, buckets: usize, now: DateTime<Utc>) -> Account {
    let mut rng = Rng(0x5eed_0000 + i as u64);
    let id = format!("{:012}", 200_000_000_000u64 + i as u64 * 7919);
    let iam_arn = |kind: &str, name: &str| format!("arn:aws:iam::{id}:{kind}/{name}");

    // Customer managed policies: ours (some accounts with a weakened or reordered
    // copy), an admin break-glass policy, and ordinary ones with a few versions.
    let force_doc: Value = serde_json::from_str(FORCE_MFA).unwrap();
    let force_doc = match i % 10 {
        0 => serde_json::from_str(&FORCE_MFA.replace("BoolIfExists", "Bool")).unwrap(),
        1..=3 => reordered(&force_doc),
        _ => force_doc,
    };
    let ip_doc: Value = serde_json::from_str(
        &SOURCE_IP.replace("\"PARAM_1_SOURCE_IP\"", &format!("[\"{ALLOWED_IP}\"]")),
    )
    .unwrap();
    let mut policies = vec![
        managed(
            &id,
            "Force_MFA",
            vec![allow(json!("iam:*"), "*"), force_doc],
            3,
        ),
        managed(&id, "User_Source_IP_Restrictions", vec![ip_doc], 2),
        managed(&id, "BreakGlass", vec![allow(json!(["*"]), "*")], 0),
    ];
    for n in 0..20 {
        let versions = (0..1 + n % 3)
            .map(|v| {
                allow(
                    json!([format!("s3:Get{}", v + n), "s3:List*", "dynamodb:Query"]),
                    &format!("arn:aws:s3:::data-{n}/*"),
                )
            })
            .collect();
        policies.push(managed(&id, &format!("app-{n:02}"), versions, 1));
    }
    for p in &mut policies {
        p.policy_id = Some(format!("ANPA{:016X}", rng.next()));
    }
    let force = policies[0].arn.clone();
    let ip = policies[1].arn.clone();
    let app0 = policies[3].arn.clone();

    let groups = vec![
        group(&id, "DevOps", vec![force.clone(), ip.clone()]),
        group(&id, "Developers", vec![force.clone()]),
        group(&id, "ReadOnly", vec![force.clone(), app0.clone()]),
        group(
            &id,
            "SecurityAudit",
            vec![ip.clone(), "arn:aws:iam::aws:policy/SecurityAudit".into()],
        ),
    ];
    let roles = (0..40)
        .map(|n| Role {
            name: format!("role-{n:02}"),
            arn: iam_arn("role", &format!("role-{n:02}")),
            path: "/".into(),
            attached_policies: vec![policies[3 + n % 20].arn.clone()],
            inline_policies: Vec::new(),
            trust_policy: Some(json!({ "Version": "2012-10-17", "Statement": [
                { "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" },
                  "Action": "sts:AssumeRole" } ] })),
            permissions_boundary: None,
        })
        .collect();

    let mut user_list = Vec::with_capacity(users + 1);
    let mut report = Vec::with_capacity(users + 2);
    let mut mfa_devices = Vec::new();
    let root_arn = format!("arn:aws:iam::{id}:root");
    report.push(CredentialReportRow {
        user: CredentialReportRow::ROOT.into(),
        arn: root_arn.clone(),
        user_creation_time: now - Duration::days(2000),
        password_enabled: false,
        password_last_used: Some(rng.days_before(now, 300)),
        password_last_changed: None,
        mfa_active: !i.is_multiple_of(7),
        access_key_1: i.is_multiple_of(13).then(|| key_slot(&mut rng, now)),
        access_key_2: None,
    });
    for n in 0..=users {
        let (name, group_names, mfa) = if n == users {
            (
                "cloudkestrel-auditor".to_string(),
                vec!["SecurityAudit".to_string()],
                false,
            )
        } else {
            let groups = if rng.chance(90) {
                vec![["DevOps", "Developers", "ReadOnly"][rng.below(3) as usize].to_string()]
            } else {
                Vec::new()
            };
            (format!("user{n:04}"), groups, rng.chance(70))
        };
        let arn = iam_arn("user", &name);
        let created = rng.days_before(now, 1500);
        let password = n < users && rng.chance(40);
        let mut attached = Vec::new();
        if rng.chance(4) {
            attached.push(ip.clone());
        }
        let mut inline = Vec::new();
        if rng.chance(6) {
            inline.push(InlinePolicy {
                name: "inline".into(),
                document: allow(json!("s3:ListBucket"), "*"),
            });
        }
        if mfa {
            mfa_devices.push(VirtualMfaDevice {
                serial_number: format!("arn:aws:iam::{id}:mfa/{name}"),
                user_arn: Some(arn.clone()),
                enabled_at: Some(created + Duration::hours(1)),
            });
        }
        report.push(CredentialReportRow {
            user: name.clone(),
            arn: arn.clone(),
            user_creation_time: created,
            password_enabled: password,
            password_last_used: (password && rng.chance(85)).then(|| rng.days_before(now, 200)),
            password_last_changed: password.then_some(created),
            mfa_active: mfa,
            access_key_1: (n == users || rng.chance(45)).then(|| key_slot(&mut rng, now)),
            access_key_2: rng.chance(5).then(|| key_slot(&mut rng, now)),
        });
        user_list.push(User {
            user_id: format!("AIDA{:016X}", rng.next()),
            name,
            arn,
            path: "/".into(),
            created,
            groups: group_names,
            attached_policies: attached,
            inline_policies: inline,
            permissions_boundary: None,
        });
    }
    // A few virtual MFA devices that were created but never assigned.
    for n in 0..5 {
        mfa_devices.push(VirtualMfaDevice {
            serial_number: format!("arn:aws:iam::{id}:mfa/unassigned-{n}"),
            user_arn: None,
            enabled_at: None,
        });
    }

    let owner = format!("{:064x}", rng.next());
    let bucket_list: Vec<Bucket> = (0..buckets)
        .map(|j| {
            let name = format!("ck-{id}-b{j:03}");
            let mut acl_grants = vec![Grant {
                grantee_type: "CanonicalUser".into(),
                grantee: owner.clone(),
                permission: "FULL_CONTROL".into(),
            }];
            let mut policy = None;
            let mut public_access_block = None;
            match (j + i) % 10 {
                1 => acl_grants.push(Grant {
                    grantee_type: "Group".into(),
                    grantee: ALL_USERS.into(),
                    permission: "READ".into(),
                }),
                2 => {
                    policy = Some(json!({ "Version": "2012-10-17", "Statement": [
                        { "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                          "Resource": format!("arn:aws:s3:::{name}/*") } ] }))
                }
                3 => {
                    public_access_block = Some(PublicAccessBlock {
                        block_public_acls: true,
                        ignore_public_acls: true,
                        block_public_policy: true,
                        restrict_public_buckets: true,
                    })
                }
                4 => {
                    policy = Some(json!({ "Version": "2012-10-17", "Statement": [
                        { "Effect": "Allow", "Principal": "*",
                          "Action": ["s3:GetObject", "s3:PutObject"],
                          "Resource": format!("arn:aws:s3:::{name}/*"),
                          "Condition": { "StringEquals": { "aws:SourceVpc": "vpc-0a1b2c3d" } } },
                        { "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                          "Resource": [format!("arn:aws:s3:::{name}"), format!("arn:aws:s3:::{name}/*")],
                          "Condition": { "Bool": { "aws:SecureTransport": "false" } } } ] }))
                }
                _ => {}
            }
            Bucket {
                region: if j % 25 == 24 { "eu-west-1" } else { "us-east-1" }.into(),
                created: Some(rng.days_before(now, 1500)),
                acl_grants,
                policy,
                ownership_controls: Some(
                    if j % 3 == 0 { "BucketOwnerEnforced" } else { "ObjectWriter" }.into(),
                ),
                public_access_block,
                name,
            }
        })
        .collect();

    // AWS Config in the home region with four of the eight rules deployed, and their
    // per-resource results.
    let deployed = [
        "IAM_USER_MFA_ENABLED",
        "IAM_ROOT_ACCESS_KEY_CHECK",
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
    ];
    let rule_name = |ident: &str| ident.to_lowercase().replace('_', "-");
    let rules = deployed
        .iter()
        .map(|ident| ConfigRule {
            name: rule_name(ident),
            arn: Some(format!(
                "arn:aws:config:us-east-1:{id}:config-rule/config-rule-{}",
                rule_name(ident)
            )),
            source_owner: "AWS".into(),
            source_identifier: ident.to_string(),
            input_parameters: Some("{}".into()),
            maximum_execution_frequency: None,
            state: Some("ACTIVE".into()),
        })
        .collect();
    let recorded = |rng: &mut Rng| Some(rng.days_before(now, 2));
    let mut compliance = Vec::new();
    for (u, row) in user_list.iter().zip(report.iter().skip(1)) {
        compliance.push(ComplianceResult {
            config_rule_name: rule_name("IAM_USER_MFA_ENABLED"),
            resource_type: "AWS::IAM::User".into(),
            resource_id: u.user_id.clone(),
            compliance: if row.mfa_active {
                "COMPLIANT"
            } else {
                "NON_COMPLIANT"
            }
            .into(),
            recorded_at: recorded(&mut rng),
            annotation: None,
        });
    }
    compliance.push(ComplianceResult {
        config_rule_name: rule_name("IAM_ROOT_ACCESS_KEY_CHECK"),
        resource_type: "AWS::::Account".into(),
        resource_id: id.clone(),
        compliance: if report[0].access_key_1.is_some() {
            "NON_COMPLIANT"
        } else {
            "COMPLIANT"
        }
        .into(),
        recorded_at: recorded(&mut rng),
        annotation: None,
    });
    for (j, b) in bucket_list.iter().enumerate() {
        for ident in [
            "S3_BUCKET_PUBLIC_READ_PROHIBITED",
            "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
        ] {
            let bad = ident.contains("READ") && matches!((j + i) % 10, 1 | 2);
            compliance.push(ComplianceResult {
                config_rule_name: rule_name(ident),
                resource_type: "AWS::S3::Bucket".into(),
                resource_id: b.name.clone(),
                compliance: if bad { "NON_COMPLIANT" } else { "COMPLIANT" }.into(),
                recorded_at: recorded(&mut rng),
                annotation: None,
            });
        }
    }
    let config_region = ConfigRegion {
        region: "us-east-1".into(),
        recorders: vec![ConfigRecorder {
            name: "default".into(),
            role_arn: Some(iam_arn("role", "config-role")),
            all_supported: true,
            include_global_resource_types: true,
            recording_strategy: Some("ALL_SUPPORTED_RESOURCE_TYPES".into()),
            resource_types: Vec::new(),
            excluded_resource_types: Vec::new(),
            recording: !i.is_multiple_of(20),
            last_status: Some("SUCCESS".into()),
        }],
        delivery_channels: vec![DeliveryChannel {
            name: "default".into(),
            s3_bucket_name: Some(format!("config-{id}-us-east-1")),
            sns_topic_arn: None,
        }],
        rules,
        compliance,
    };

    let account_summary: BTreeMap<String, i64> = [
        (
            "AccountAccessKeysPresent",
            i64::from(report[0].access_key_1.is_some()),
        ),
        ("AccountMFAEnabled", i64::from(report[0].mfa_active)),
        ("Users", user_list.len() as i64),
        ("Groups", groups.len() as i64),
        ("Roles", 40),
        ("Policies", policies.len() as i64),
        ("MFADevices", mfa_devices.len() as i64),
        ("MFADevicesInUse", (mfa_devices.len() - 5) as i64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let api_calls: BTreeMap<String, u64> = [
        ("sts:GetCallerIdentity", 1),
        (
            "iam:GetAccountAuthorizationDetails",
            1 + users as u64 / 1000,
        ),
        ("iam:GenerateCredentialReport", 2),
        ("iam:GetCredentialReport", 1),
        ("iam:GetAccountSummary", 1),
        ("iam:GetAccountPasswordPolicy", 1),
        ("iam:ListVirtualMFADevices", 1 + users as u64 / 1000),
        ("config:DescribeConfigurationRecorders", 1),
        ("config:DescribeConfigurationRecorderStatus", 1),
        ("config:DescribeDeliveryChannels", 1),
        ("config:DescribeConfigRules", 1),
        (
            "config:GetComplianceDetailsByConfigRule",
            4 + users as u64 / 100,
        ),
        ("s3control:GetPublicAccessBlock", 1),
        ("s3:ListBuckets", 1),
        ("s3:GetBucketAcl", buckets as u64),
        ("s3:GetBucketPolicy", buckets as u64),
        ("s3:GetPublicAccessBlock", buckets as u64),
        ("s3:GetBucketOwnershipControls", buckets as u64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    Account {
        metadata: Metadata {
            target: target_name(i),
            account_id: id.clone(),
            caller_arn: iam_arn("user", "cloudkestrel-auditor"),
            collected_at: now,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            account_name: None,
            regions: vec!["us-east-1".into()],
        },
        iam: Iam {
            users: user_list,
            groups,
            roles,
            policies,
            credential_report: report,
            account_summary,
            password_policy: (!i.is_multiple_of(3)).then(|| {
                json!({ "MinimumPasswordLength": 14, "RequireSymbols": true,
                        "RequireNumbers": true, "RequireUppercaseCharacters": true,
                        "RequireLowercaseCharacters": true, "AllowUsersToChangePassword": true,
                        "ExpirePasswords": false, "MaxPasswordAge": null,
                        "PasswordReusePrevention": 24, "HardExpiry": false })
            }),
            virtual_mfa_devices: mfa_devices,
        },
        config: AwsConfig {
            regions: vec![config_region],
        },
        s3: S3 {
            account_public_access_block: i.is_multiple_of(4).then_some(PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            }),
            buckets: bucket_list,
        },
        problems: Vec::new(),
        api_calls,
    }
}

fn managed(account: &str, name: &str, versions: Vec<Value>, attachments: i64) -> ManagedPolicy {
    let n = versions.len();
    ManagedPolicy {
        name: name.into(),
        arn: format!("arn:aws:iam::{account}:policy/{name}"),
        policy_id: None,
        path: "/".into(),
        default_version_id: format!("v{n}"),
        attachment_count: attachments,
        permissions_boundary_usage_count: 0,
        versions: versions
            .into_iter()
            .enumerate()
            .map(|(v, document)| PolicyVersion {
                version_id: format!("v{}", v + 1),
                created: Some(
                    Utc.with_ymd_and_hms(2025, 1, 1 + v as u32, 0, 0, 0)
                        .unwrap(),
                ),
                document,
            })
            .collect(),
    }
}

fn group(account: &str, name: &str, attached: Vec<String>) -> Group {
    Group {
        name: name.into(),
        arn: format!("arn:aws:iam::{account}:group/{name}"),
        path: "/".into(),
        attached_policies: attached,
        inline_policies: Vec::new(),
    }
}
