//! The typed, in-memory picture of one AWS account at one moment.
//!
//! Collect fills it from AWS, `snapshot import` fills it from a fixture, the snapshot
//! writer stores it in SQLite and the reader loads it back. Rules read only this model:
//! no SQL and no AWS calls happen during evaluation. Its serde form *is* the fixture
//! format, so `snapshot export` of any archived snapshot is a ready-made test case.
//!
//! Nothing secret is modelled: no secret keys, no session tokens, no passwords.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod domain;
pub use domain::{quoted, Domain};

/// One account's state as collected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub metadata: Metadata,
    #[serde(default)]
    pub iam: Iam,
    #[serde(default)]
    pub config: AwsConfig,
    #[serde(default)]
    pub s3: S3,
    /// Everything collect could not read. A section listed here makes every check that
    /// needs it report `error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// API requests made during collection, by operation (`iam:GetAccountAuthorizationDetails`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub api_calls: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The target name from targets.json.
    pub target: String,
    pub account_id: String,
    #[serde(default)]
    pub caller_arn: String,
    /// When collection started (UTC). Time-dependent rules use this as "now".
    pub collected_at: DateTime<Utc>,
    #[serde(default)]
    pub tool_version: String,
    /// The account's name in its AWS Organization (members of an Organization entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(default)]
    pub regions: Vec<String>,
}

impl Metadata {
    /// The AWS partition of the account (`aws`, `aws-us-gov`, `aws-cn`, …), from the
    /// caller's ARN; `aws` when the snapshot has none (STS failed, older fixtures) or
    /// it is not an ARN. It names the resources CloudKestrel builds ARNs for itself (the
    /// account, a bucket, a missing policy or group, apply's example recorder role; the
    /// local and AWS Config results of one resource must agree on it to be paired), and
    /// the Policy rules' templates are compared in it (`policies/*.json` are written
    /// with `arn:aws:`).
    pub fn partition(&self) -> &str {
        self.caller_arn
            .strip_prefix("arn:")
            .and_then(|rest| rest.split(':').next())
            .filter(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
            .unwrap_or("aws")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Iam {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Customer managed policies, every version.
    #[serde(default)]
    pub policies: Vec<ManagedPolicy>,
    /// The IAM credential report, one row per user plus the `<root_account>` row.
    #[serde(default)]
    pub credential_report: Vec<CredentialReportRow>,
    /// GetAccountSummary's SummaryMap (`AccountAccessKeysPresent`, `AccountMFAEnabled`, …).
    #[serde(default)]
    pub account_summary: BTreeMap<String, i64>,
    /// GetAccountPasswordPolicy as returned; `None` = the account has no password policy.
    #[serde(default)]
    pub password_policy: Option<Value>,
    #[serde(default)]
    pub virtual_mfa_devices: Vec<VirtualMfaDevice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub arn: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default = "default_path")]
    pub path: String,
    pub created: DateTime<Utc>,
    /// Names of the groups the user belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// ARNs of managed policies attached directly to the user.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    pub arn: String,
    #[serde(default = "default_path")]
    pub path: String,
    /// ARNs of managed policies attached to the group.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    pub arn: String,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    /// `null` when collect could not read it (a problem scoped to the role's ARN).
    #[serde(default)]
    pub trust_policy: Option<Value>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlinePolicy {
    pub name: String,
    /// The policy document, already URL-decoded and parsed; `null` when collect could
    /// not read it (a problem scoped to the owner's ARN says why).
    pub document: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedPolicy {
    pub name: String,
    pub arn: String,
    /// The policy's unique id (`ANPA…`): AWS Config names policies by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    #[serde(default = "default_path")]
    pub path: String,
    pub default_version_id: String,
    #[serde(default)]
    pub attachment_count: i64,
    #[serde(default)]
    pub permissions_boundary_usage_count: i64,
    pub versions: Vec<PolicyVersion>,
}

impl ManagedPolicy {
    /// The document of the default version, the one IAM enforces.
    pub fn default_document(&self) -> Option<&Value> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version_id)
            .map(|v| &v.document)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyVersion {
    pub version_id: String,
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// The policy document, already URL-decoded and parsed; `null` when collect could
    /// not read it (a problem scoped to the policy's ARN says why).
    pub document: Value,
}

/// One row of the IAM credential report. Dates are `None` where the report says
/// `N/A`, `no_information` or `not_supported`; the raw markers are kept where they carry
/// meaning (`password_last_used`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialReportRow {
    /// User name, or `<root_account>` for the root user.
    pub user: String,
    pub arn: String,
    pub user_creation_time: DateTime<Utc>,
    #[serde(default)]
    pub password_enabled: bool,
    /// `None` = never used (or no information, or no password).
    #[serde(default)]
    pub password_last_used: Option<DateTime<Utc>>,
    #[serde(default)]
    pub password_last_changed: Option<DateTime<Utc>>,
    #[serde(default)]
    pub mfa_active: bool,
    #[serde(default)]
    pub access_key_1: Option<AccessKeySlot>,
    #[serde(default)]
    pub access_key_2: Option<AccessKeySlot>,
}

impl CredentialReportRow {
    pub const ROOT: &'static str = "<root_account>";

    pub fn is_root(&self) -> bool {
        self.user == Self::ROOT
    }

    pub fn access_keys(&self) -> impl Iterator<Item = (u8, &AccessKeySlot)> {
        [(1u8, &self.access_key_1), (2u8, &self.access_key_2)]
            .into_iter()
            .filter_map(|(n, k)| k.as_ref().map(|k| (n, k)))
    }
}

/// One of the two access-key slots of a credential report row. A slot is present when
/// the report shows a key there (`last_rotated` is not `N/A`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKeySlot {
    pub active: bool,
    /// When the key was created or last rotated.
    pub last_rotated: DateTime<Utc>,
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualMfaDevice {
    pub serial_number: String,
    /// ARN of the user the device is assigned to (root: `arn:<partition>:iam::<id>:root`).
    #[serde(default)]
    pub user_arn: Option<String>,
    #[serde(default)]
    pub enabled_at: Option<DateTime<Utc>>,
}

/// AWS Config, per region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    #[serde(default)]
    pub regions: Vec<ConfigRegion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRegion {
    pub region: String,
    #[serde(default)]
    pub recorders: Vec<ConfigRecorder>,
    #[serde(default)]
    pub delivery_channels: Vec<DeliveryChannel>,
    #[serde(default)]
    pub rules: Vec<ConfigRule>,
    #[serde(default)]
    pub compliance: Vec<ComplianceResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRecorder {
    pub name: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub all_supported: bool,
    #[serde(default)]
    pub include_global_resource_types: bool,
    /// The recording group's strategy (`ConfigRecorder::RECORDING_STRATEGIES`), as AWS
    /// gives it or, from an answer of the older API without one, as `all_supported`
    /// implies it. `None`: not known (a snapshot collected before CloudKestrel read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_strategy: Option<String>,
    /// The recording group's `resourceTypes` (what INCLUSION_BY_RESOURCE_TYPES records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_types: Vec<String>,
    /// Its `exclusionByResourceTypes` (what EXCLUSION_BY_RESOURCE_TYPES leaves out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_resource_types: Vec<String>,
    /// From DescribeConfigurationRecorderStatus.
    #[serde(default)]
    pub recording: bool,
    #[serde(default)]
    pub last_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryChannel {
    pub name: String,
    #[serde(default)]
    pub s3_bucket_name: Option<String>,
    #[serde(default)]
    pub sns_topic_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRule {
    pub name: String,
    #[serde(default)]
    pub arn: Option<String>,
    /// One of [`ConfigRule::SOURCE_OWNERS`].
    #[serde(default = "default_owner")]
    pub source_owner: String,
    pub source_identifier: String,
    /// InputParameters as AWS returns it: a JSON string.
    #[serde(default)]
    pub input_parameters: Option<String>,
    /// One of [`ConfigRule::EXECUTION_FREQUENCIES`].
    #[serde(default)]
    pub maximum_execution_frequency: Option<String>,
    /// One of [`ConfigRule::STATES`].
    #[serde(default)]
    pub state: Option<String>,
}

impl ConfigRule {
    /// Whether this is the AWS managed rule `source_identifier`, in service (a rule
    /// being deleted does not count).
    pub fn implements(&self, source_identifier: &str) -> bool {
        self.source_owner == "AWS"
            && self.source_identifier == source_identifier
            && !self
                .state
                .as_deref()
                .is_some_and(|s| s.starts_with("DELETING"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceResult {
    /// The name of the AWS Config rule (in the account) that produced this result.
    pub config_rule_name: String,
    pub resource_type: String,
    pub resource_id: String,
    /// One of [`ComplianceResult::COMPLIANCE`].
    pub compliance: String,
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub annotation: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3 {
    /// The account-level public access block; `None` = not configured (all false).
    #[serde(default)]
    pub account_public_access_block: Option<PublicAccessBlock>,
    #[serde(default)]
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicAccessBlock {
    #[serde(default)]
    pub block_public_acls: bool,
    #[serde(default)]
    pub ignore_public_acls: bool,
    #[serde(default)]
    pub block_public_policy: bool,
    #[serde(default)]
    pub restrict_public_buckets: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    #[serde(default)]
    pub acl_grants: Vec<Grant>,
    /// The bucket policy, parsed; `None` = no bucket policy.
    #[serde(default)]
    pub policy: Option<Value>,
    /// One of [`Bucket::OBJECT_OWNERSHIP`]; `None` = not set.
    #[serde(default)]
    pub ownership_controls: Option<String>,
    /// The bucket-level public access block; `None` = not configured.
    #[serde(default)]
    pub public_access_block: Option<PublicAccessBlock>,
}

impl Bucket {
    /// The bucket's ARN in `partition` ([`Metadata::partition`]).
    pub fn arn(&self, partition: &str) -> String {
        bucket_arn(partition, &self.name)
    }
}

/// The ARN of the bucket `name` in `partition`. The local S3 checks and AWS Config's
/// results both name buckets with it: their results are paired by ARN.
pub fn bucket_arn(partition: &str, name: &str) -> String {
    format!("arn:{partition}:s3:::{name}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// One of [`Grant::GRANTEE_TYPES`].
    pub grantee_type: String,
    /// The group URI, canonical user id or e-mail.
    pub grantee: String,
    /// One of [`Grant::PERMISSIONS`].
    pub permission: String,
}

/// The parts of an account that collect reads separately. A problem in a section makes
/// every check that needs that section report `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// STS GetCallerIdentity.
    Identity,
    /// IAM GetAccountAuthorizationDetails: users, groups, roles, policies.
    IamAuthorization,
    IamCredentialReport,
    IamAccountSummary,
    IamPasswordPolicy,
    IamVirtualMfa,
    /// AWS Config recorders, their status and delivery channels.
    ConfigRecorders,
    ConfigRules,
    /// GetComplianceDetailsByConfigRule results.
    ConfigCompliance,
    S3Buckets,
    S3AccountPublicAccessBlock,
    /// Per-bucket reads (ACL, policy, public access block, ownership).
    S3BucketDetails,
}

impl Section {
    pub const ALL: [Section; 12] = [
        Section::Identity,
        Section::IamAuthorization,
        Section::IamCredentialReport,
        Section::IamAccountSummary,
        Section::IamPasswordPolicy,
        Section::IamVirtualMfa,
        Section::ConfigRecorders,
        Section::ConfigRules,
        Section::ConfigCompliance,
        Section::S3Buckets,
        Section::S3AccountPublicAccessBlock,
        Section::S3BucketDetails,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::Identity => "identity",
            Section::IamAuthorization => "iam_authorization",
            Section::IamCredentialReport => "iam_credential_report",
            Section::IamAccountSummary => "iam_account_summary",
            Section::IamPasswordPolicy => "iam_password_policy",
            Section::IamVirtualMfa => "iam_virtual_mfa",
            Section::ConfigRecorders => "config_recorders",
            Section::ConfigRules => "config_rules",
            Section::ConfigCompliance => "config_compliance",
            Section::S3Buckets => "s3_buckets",
            Section::S3AccountPublicAccessBlock => "s3_account_public_access_block",
            Section::S3BucketDetails => "s3_bucket_details",
        }
    }

    pub fn parse(s: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Something collect could not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub section: Section,
    /// The API operation, `service:Operation`.
    pub operation: String,
    /// The AWS error code (`AccessDenied`, `Throttling`, …) or a CloudKestrel code
    /// (`MissingCredentials`, `MalformedResponse`).
    pub error_code: String,
    pub message: String,
    #[serde(default)]
    pub region: Option<String>,
    /// The resource the failure is limited to (a bucket name, a Config rule name);
    /// `None` = the whole section is unusable.
    #[serde(default)]
    pub resource: Option<String>,
}

impl std::fmt::Display for Problem {
    /// `iam_credential_report iam:GetCredentialReport failed (AccessDenied, us-east-1, bucket): message`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} failed ({}",
            self.section.as_str(),
            self.operation,
            self.error_code
        )?;
        for scope in [&self.region, &self.resource].into_iter().flatten() {
            write!(f, ", {scope}")?;
        }
        write!(f, "): {}", self.message)
    }
}

impl Account {
    /// Problems that make `section` unusable as a whole.
    pub fn section_problems(&self, section: Section) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(move |p| p.section == section && p.resource.is_none())
    }

    /// Problems that affect one resource of `section` (or the whole section).
    pub fn resource_problems<'a>(
        &'a self,
        section: Section,
        resource: &'a str,
    ) -> impl Iterator<Item = &'a Problem> {
        self.problems.iter().filter(move |p| {
            p.section == section && p.resource.as_deref().is_none_or(|r| r == resource)
        })
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.iam.users.iter().find(|u| u.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.iam
            .groups
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(name))
    }
}

fn default_path() -> String {
    "/".to_string()
}

fn default_owner() -> String {
    "AWS".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_comes_from_the_callers_arn() {
        let of = |caller_arn: &str| {
            Metadata {
                target: "t".into(),
                account_id: "111122223333".into(),
                caller_arn: caller_arn.into(),
                collected_at: DateTime::<Utc>::UNIX_EPOCH,
                tool_version: String::new(),
                account_name: None,
                regions: Vec::new(),
            }
            .partition()
            .to_string()
        };
        assert_eq!(of("arn:aws:sts::111122223333:assumed-role/r/s"), "aws");
        assert_eq!(of("arn:aws-us-gov:iam::111122223333:user/a"), "aws-us-gov");
        assert_eq!(of("arn:aws-cn:iam::111122223333:user/a"), "aws-cn");
        // No ARN, or nothing that could be a partition: the commercial one.
        for odd in [
            "",
            "AIDAEXAMPLE",
            "arn::iam::1:user/a",
            "arn:AWS:iam",
            "arn:a<b>:iam",
            "arn:",
        ] {
            assert_eq!(of(odd), "aws", "{odd:?}");
        }
    }
}
