//! The rule registry: every rule CloudKestrel knows, in one list.
//!
//! One file per rule (`policy/<name>.rs`, `config/<name>.rs`). A rule's doc comment is
//! its documentation: the [`rule!`] macro turns it into [`RuleMeta::doc`], which
//! `cloudkestrel rules --explain` and the HTML report show. Rule names are the names
//! users write in targets.json and are never reused.

pub mod config;
pub mod id;
pub mod policy;
pub mod scope;
pub mod setup;

use serde::Serialize;
use std::sync::Arc;

// foldhash: see snapshot/mod.rs.
use foldhash::{HashMap, HashMapExt};

use crate::model::{Account, CredentialReportRow, Section, VirtualMfaDevice};
use crate::targets::RuleSpec;
pub use scope::{AccountState, Cause, Scope};

/// Declares a rule's metadata, taking the doc comment above it as its documentation.
macro_rules! rule {
    ($(#[doc = $doc:expr])* pub static $id:ident = RuleMeta { $($field:ident : $value:expr),* $(,)? };) => {
        $(#[doc = $doc])*
        pub static $id: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            doc: concat!($($doc, "\n"),*),
            $($field: $value),*
        };
    };
}
pub(crate) use rule;

/// `format!` for a message made only of strings: the pieces joined by `[&str]::concat`
/// into one `String` allocated at its exact size. The formatting machinery cost ten
/// times as much and was a tenth of `evaluate` at scale, where every user gets a message
/// per rule (issue 5). Pieces are anything that is `AsRef<str>`.
macro_rules! cat {
    ($($part:expr),+ $(,)?) => {
        [$(::core::convert::AsRef::<str>::as_ref(&$part)),+].concat()
    };
}
pub(crate) use cat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    Policy,
    Config,
    Setup,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Policy => "Policy",
            Kind::Config => "Config",
            Kind::Setup => "Setup",
        }
    }
}

/// How a value in `Parameters` or `Options` is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// A whole number from 1 to [`POSITIVE_INT_MAX`] (JSON number or numeric string).
    PositiveInt,
    /// `true`/`false` (or their string forms).
    Bool,
    /// A comma-separated list of names (a string, or a JSON list of strings).
    Csv,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// A non-empty IAM name.
    Name,
}

impl ValueType {
    pub fn describe(self) -> String {
        match self {
            ValueType::PositiveInt => {
                format!("a positive whole number, at most {POSITIVE_INT_MAX}")
            }
            ValueType::Bool => "true or false".into(),
            ValueType::Csv => "a comma-separated string of names, or a list of names".into(),
            ValueType::Choice(c) => format!("one of {}", c.join(", ")),
            ValueType::Name => "a non-empty name".into(),
        }
    }
}

/// The largest [`ValueType::PositiveInt`]: AWS Config types these parameters `int`, a
/// 32-bit signed integer, so anything larger could not be deployed as written.
pub const POSITIVE_INT_MAX: u32 = i32::MAX as u32;

/// A [`ValueType::PositiveInt`] in AWS's string form: ASCII digits only, 1 to
/// [`POSITIVE_INT_MAX`]. Both targets.json and the rules read numbers through this.
pub fn positive_int(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>()
        .ok()
        .filter(|n| (1..=POSITIVE_INT_MAX).contains(n))
}

/// A setting of a rule: an AWS managed-rule parameter (`Parameters`, sent to AWS Config
/// by `apply`) or a CloudKestrel-only option for its local check (`Options`).
#[derive(Debug)]
pub struct Setting {
    pub name: &'static str,
    pub ty: ValueType,
    /// The default, in AWS's string form; `None` = unset.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// How AWS Config triggers a managed rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Not an AWS Config rule.
    NotConfig,
    /// Every 24 hours (`MaximumExecutionFrequency` TwentyFour_Hours).
    Periodic,
    /// When a resource of these types changes (the rule's Scope).
    Changes(&'static [&'static str]),
    /// Both.
    ChangesAndPeriodic(&'static [&'static str]),
}

/// How bad a failure of a rule is, most severe first. Each rule declares one with a
/// sentence on why; targets.json may override it per rule and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug)]
pub struct RuleMeta {
    /// The name users write in targets.json.
    pub name: &'static str,
    pub kind: Kind,
    /// Config rules: the AWS managed rule's SourceIdentifier (equal to `name`).
    pub source_identifier: Option<&'static str>,
    /// Config rules: AWS's default rule name (kebab case).
    pub aws_rule_name: Option<&'static str>,
    /// One-line summary.
    pub summary: &'static str,
    /// Whether `IgnoreUsers` applies (the rule reports on IAM users).
    pub user_scoped: bool,
    /// Whether the rule is about account-wide (global) resources, so that deploying it
    /// in one region is enough.
    pub global: bool,
    /// Config rules: how AWS Config runs the managed rule (what `apply` creates).
    pub trigger: Trigger,
    pub parameters: &'static [Setting],
    pub options: &'static [Setting],
    /// What the local (or policy) checks read; a problem there makes them `error`.
    pub needs: &'static [Section],
    /// How bad a failure is, unless targets.json says otherwise for a target.
    pub severity: Severity,
    /// Why, in one sentence (`rules --explain`, the HTML report, SARIF).
    pub severity_reason: &'static str,
    /// The rule's full documentation (its doc comment).
    pub doc: &'static str,
}

/// A rule: its metadata and its own check. Config rules also get the shared
/// `deployed` and `aws-config` checks from [`config`].
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// Policy rules: `policy-document` and `attached`. Config rules: `local`.
    fn check(&self, cx: &Context<'_>) -> Vec<Finding>;
}

/// Every rule, in report order.
pub static RULES: &[&dyn Rule] = &[
    &policy::force_mfa::ForceMfa,
    &policy::user_source_ip_restrictions::UserSourceIpRestrictions,
    &config::iam_root_access_key_check::RootAccessKey,
    &config::iam_user_mfa_enabled::UserMfaEnabled,
    &config::iam_user_unused_credentials_check::UnusedCredentials,
    &config::iam_user_no_policies_check::UserNoPolicies,
    &config::iam_policy_no_statements_with_admin_access::NoAdminAccess,
    &config::iam_user_group_membership_check::GroupMembership,
    &config::s3_bucket_public_read_prohibited::PublicRead,
    &config::s3_bucket_public_write_prohibited::PublicWrite,
    &setup::account_setup::AccountSetup,
];

pub fn find(name: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| r.meta().name == name)
}

/// The closest rule name to a misspelt one, for "did you mean" ([`crate::suggest`]).
pub fn suggest(name: &str) -> Option<&'static str> {
    crate::suggest::closest(name, RULES.iter().map(|r| r.meta().name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Error,
    Fail,
    Pass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Check {
    #[serde(rename = "policy-document")]
    PolicyDocument,
    #[serde(rename = "attached")]
    Attached,
    #[serde(rename = "deployed")]
    Deployed,
    #[serde(rename = "aws-config")]
    AwsConfig,
    #[serde(rename = "local")]
    Local,
    #[serde(rename = "setup")]
    Setup,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::PolicyDocument => "policy-document",
            Check::Attached => "attached",
            Check::Deployed => "deployed",
            Check::AwsConfig => "aws-config",
            Check::Local => "local",
            Check::Setup => "setup",
        }
    }
}

/// One verdict on one resource.
///
/// Its fields are in the order of the JSON report's results (a test holds the
/// hand-written writer equal to serde's form of this struct).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The stable id ([`id::FindingId`]): set when the report is made, never by a rule.
    pub id: id::FindingId,
    /// The rule's name (its [`RuleMeta::name`]).
    pub rule: &'static str,
    pub check: Check,
    /// Whether the result is about a resource or the account's setup ([`scope`]).
    pub scope: Scope,
    /// For an account-level result that follows from another of the same rule (a user
    /// who cannot have a policy the account lacks): that one ([`Finding::follows`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Arc<Cause>>,
    /// The ARN of the resource (user, policy, bucket, account root). Shared, not
    /// copied: a user's ARN and name appear in one result per rule (see
    /// [`AccountIndex::user_names`]).
    pub resource: Arc<str>,
    pub resource_name: Arc<str>,
    pub status: Status,
    /// The rule's severity for this target (targets.json's, else the rule's own).
    pub severity: Severity,
    pub message: String,
    /// Extra lines (a policy difference, the statements found public).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// What about the resource, where one check gives one resource several results
    /// (Account_Setup: the policy expected on a group). Part of the finding's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect: Option<&'static str>,
    /// Set by triage, never by a rule: the suppression that accepts this `fail` (see
    /// [`crate::triage::suppressions`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Arc<crate::triage::suppressions::Applied>>,
    /// Set by triage with a baseline: whether this `fail` is absent from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
    /// Set by triage: the suppression that accepted this `fail` until it expired (and
    /// no other accepts it now). It fails again, new or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_suppression: Option<Arc<crate::triage::suppressions::Applied>>,
    /// Whether the message carries a note worth reading even on a pass: an ignored user
    /// (`IgnoreUsers`), a `DISAGREEMENT` with AWS Config, `NOT_APPLICABLE`, a fallback to
    /// `GetAccountSummary`, a `note:`, or `no evaluation results` yet. Set by the code
    /// that writes those words (a test holds the two together over every rule fixture),
    /// so the HTML report need not search every message for them.
    #[serde(skip)]
    pub note: bool,
    /// What an account-level result says about the setup, where its check and status
    /// do not say it alone ([`AccountState`]).
    #[serde(skip)]
    pub state: Option<AccountState>,
}

impl Finding {
    /// A finding with no details, aspect or triage, its id still to be made.
    pub fn new(
        rule: &'static str,
        check: Check,
        resource: impl Into<Arc<str>>,
        resource_name: impl Into<Arc<str>>,
        status: Status,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            id: id::FindingId::default(),
            rule,
            check,
            scope: check.scope(),
            cause: None,
            resource: resource.into(),
            resource_name: resource_name.into(),
            status,
            severity,
            message: message.into(),
            details: Vec::new(),
            aspect: None,
            suppressed: None,
            new: None,
            expired_suppression: None,
            note: false,
            state: None,
        }
    }

    /// This finding about `aspect` of its resource (see [`Finding::aspect`]).
    pub fn about(mut self, aspect: &'static str) -> Self {
        self.aspect = Some(aspect);
        self
    }

    /// This result as an account-level one that follows from `cause`, a result of the
    /// same rule: fixing that one fixes this one.
    pub fn follows(mut self, cause: &Arc<Cause>) -> Self {
        self.scope = Scope::Account;
        self.cause = Some(cause.clone());
        self
    }

    /// This result, saying `state` about the account's setup.
    pub fn in_state(mut self, state: AccountState) -> Self {
        self.state = Some(state);
        self
    }

    /// Whether this is a failure no suppression accepts: what makes a run exit 1.
    pub fn unsuppressed_failure(&self) -> bool {
        self.status == Status::Fail && self.suppressed.is_none()
    }
}

/// Lookups over one account, built once for all of its rules.
pub struct AccountIndex<'a> {
    /// Positions in `iam.users` (and [`AccountIndex::user_names`]) by user id, name and
    /// ARN.
    pub users: HashMap<&'a str, usize>,
    /// Each user's (ARN, name), in `iam.users` order, made once and shared by the
    /// results of every rule: copying them into every result was a twentieth of
    /// `evaluate` at scale with its allocations and frees (issue 5).
    pub user_names: Vec<(Arc<str>, Arc<str>)>,
    /// Credential report rows by user name.
    pub credential_rows: HashMap<&'a str, &'a CredentialReportRow>,
    /// Virtual MFA devices by the ARN of the user they are assigned to.
    pub mfa_devices: HashMap<&'a str, &'a VirtualMfaDevice>,
}

impl<'a> AccountIndex<'a> {
    pub fn new(account: &'a Account) -> Self {
        let iam = &account.iam;
        let mut users = HashMap::with_capacity(iam.users.len() * 3);
        for key in [0, 1, 2] {
            for (i, u) in iam.users.iter().enumerate() {
                let k = match key {
                    0 => u.user_id.as_str(),
                    1 => u.name.as_str(),
                    _ => u.arn.as_str(),
                };
                users.entry(k).or_insert(i);
            }
        }
        let user_names = iam
            .users
            .iter()
            .map(|u| (Arc::from(u.arn.as_str()), Arc::from(u.name.as_str())))
            .collect();
        let mut credential_rows = HashMap::with_capacity(iam.credential_report.len());
        for r in &iam.credential_report {
            credential_rows.entry(r.user.as_str()).or_insert(r);
        }
        let mut mfa_devices = HashMap::new();
        for d in &iam.virtual_mfa_devices {
            if let Some(arn) = d.user_arn.as_deref() {
                mfa_devices.entry(arn).or_insert(d);
            }
        }
        AccountIndex {
            users,
            user_names,
            credential_rows,
            mfa_devices,
        }
    }
}

impl Finding {
    /// Whether a result says more than its status: details (a policy difference,
    /// neutralised public settings, parameter drift) or a note (see [`Finding::note`]).
    pub fn has_note(&self) -> bool {
        self.note || !self.details.is_empty()
    }

    /// This finding, marked as carrying a note.
    pub fn noted(mut self) -> Self {
        self.note = true;
        self
    }
}

/// What a rule's check gets: the account and the rule's settings for this target.
pub struct Context<'a> {
    pub account: &'a Account,
    pub index: &'a AccountIndex<'a>,
    pub spec: &'a RuleSpec,
}

impl<'a> Context<'a> {
    pub fn rule_name(&self) -> &'static str {
        self.spec.rule.meta().name
    }

    pub fn finding(
        &self,
        check: Check,
        resource: impl Into<Arc<str>>,
        resource_name: impl Into<Arc<str>>,
        status: Status,
        message: impl Into<String>,
    ) -> Finding {
        Finding::new(
            self.rule_name(),
            check,
            resource,
            resource_name,
            status,
            self.spec.severity(),
            message,
        )
    }

    pub fn account_arn(&self) -> String {
        self.iam_arn("root")
    }

    /// `arn:<partition>:iam::<account id>:<resource>`: the ARN of an IAM resource of this
    /// account that CloudKestrel names itself (one that is missing, or the account).
    pub fn iam_arn(&self, resource: &str) -> String {
        let m = &self.account.metadata;
        format!("arn:{}:iam::{}:{resource}", m.partition(), m.account_id)
    }

    /// One `error` finding for the whole target when a needed section is missing. The
    /// caller's identity (STS) is needed by every check: without it the snapshot may
    /// not even be of the intended account.
    pub fn section_errors(&self, check: Check, needs: &[Section]) -> Option<Finding> {
        let problems: Vec<String> = std::iter::once(&Section::Identity)
            .chain(needs.iter().filter(|s| **s != Section::Identity))
            .flat_map(|s| self.account.section_problems(*s))
            .map(|p| format!("{} failed ({}: {})", p.operation, p.error_code, p.message))
            .collect();
        (!problems.is_empty()).then(|| {
            let mut f = self.finding(
                check,
                self.account_arn(),
                self.account.metadata.account_id.clone(),
                Status::Error,
                format!(
                    "cannot evaluate: data this check needs was not collected ({})",
                    problems.join("; ")
                ),
            );
            f.details = problems;
            f
        })
    }

    /// An `error` finding on one resource when collect could not read what it needs of
    /// it: the problems of `section` scoped to `scope` (a bucket's name, a policy's ARN).
    pub fn resource_error(
        &self,
        check: Check,
        section: Section,
        scope: &str,
        (resource, name): (&str, &str),
        what: &str,
    ) -> Option<Finding> {
        let problems: Vec<String> = self
            .account
            .resource_problems(section, scope)
            .map(|p| format!("{} failed ({}: {})", p.operation, p.error_code, p.message))
            .collect();
        (!problems.is_empty()).then(|| {
            let mut f = self.finding(
                check,
                resource,
                name,
                Status::Error,
                format!("cannot decide {what}: {}", problems.join("; ")),
            );
            f.details = problems;
            f
        })
    }

    /// Whether IgnoreUsers names this user (IAM user names are case-insensitive).
    pub fn ignored(&self, user: &str) -> bool {
        self.spec
            .ignore_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(user))
    }

    pub fn ignored_finding(&self, check: Check, arn: &Arc<str>, user: &Arc<str>) -> Finding {
        self.finding(
            check,
            arn.clone(),
            user.clone(),
            Status::Pass,
            format!(
                "{user} is listed in IgnoreUsers for {}: not checked",
                self.rule_name()
            ),
        )
        .noted()
    }
}

/// Evaluates every rule configured for a target.
pub fn evaluate(account: &Account, specs: &[RuleSpec]) -> Vec<Finding> {
    let index = AccountIndex::new(account);
    // Most rules give one result per user or per bucket: room for that, so that the
    // results (thousands per account) are not copied as the list grows.
    let per_rule = account.iam.users.len().max(account.s3.buckets.len()) + 2;
    let mut out = Vec::with_capacity(specs.len() * per_rule);
    for spec in specs {
        let cx = Context {
            account,
            index: &index,
            spec,
        };
        match spec.rule.meta().kind {
            Kind::Policy | Kind::Setup => out.extend(spec.rule.check(&cx)),
            Kind::Config => out.extend(config::evaluate(&cx)),
        }
    }
    out
}
