use crate::model::{CredentialReportRow, Section};
use crate::rules::{
    rule, Check, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Status, Trigger,
    ValueType,
};

rule! {
    /// ## What it checks
    /// That the root user of the account has no access key (AWS Config managed rule
    /// `iam-root-access-key-check`, periodic). One result for the account.
    ///
    /// The local check reads the `<root_account>` row of the IAM credential report: a
    /// key exists in a slot when the report shows a creation date for it. If the report
    /// could not be read or has no root row, it falls back to `AccountAccessKeysPresent`
    /// of GetAccountSummary (the CIS audit method), and says so. With neither, the
    /// result is `error`.
    ///
    /// ## Why it matters
    /// The root user cannot be restricted by IAM policies. A root access key is a
    /// permanent, unrestricted credential; AWS and CIS say it should not exist.
    ///
    /// ## How to fix
    /// Sign in as root, open Security credentials, and delete (not just deactivate) the
    /// access keys.
    ///
    /// ## Choices made
    /// - **An inactive root key fails** by default: it still exists and can be
    ///   re-activated, CIS counts it (`AccountAccessKeysPresent`), and AWS's own sample
    ///   rule `ROOT_NO_ACCESS_KEY` treats it as non-compliant. The message says whether
    ///   the key is active. Option `InactiveKeyFails: false` passes inactive keys.
    /// - AWS Config's NOT_APPLICABLE case (no root credentials at all, e.g. centralized
    ///   root access in AWS Organizations) passes with a note: no key, no MFA, and
    ///   GetAccountSummary's `AccountPasswordPresent` = 0.
    /// - **When the credential report cannot be read** (or has no root row), the verdict
    ///   comes from GetAccountSummary alone: `AccountAccessKeysPresent` = 0 passes and
    ///   anything else fails, and the message says the report was not used. That count
    ///   does not tell active from inactive keys, so `InactiveKeyFails: false` cannot
    ///   pass a key then. The report's problem is still listed and the run still exits
    ///   3 (not fully audited). If GetAccountSummary cannot be read either, `error`.
    ///
    /// ## References
    /// - AWS Config: iam-root-access-key-check
    /// - CIS AWS Foundations v5.0.0 1.3 "Ensure no 'root' user account access key exists"
    pub static META = RuleMeta {
        name: "IAM_ROOT_ACCESS_KEY_CHECK",
        kind: Kind::Config,
        source_identifier: Some("IAM_ROOT_ACCESS_KEY_CHECK"),
        aws_rule_name: Some("iam-root-access-key-check"),
        summary: "The root user has no access key",
        user_scoped: false,
        global: true,
        trigger: Trigger::Periodic,
        parameters: &[],
        options: &[Setting {
            name: "InactiveKeyFails",
            ty: ValueType::Bool,
            default: Some("true"),
            doc: "Whether an existing but inactive root access key fails (default true)",
        }],
        // Both sources are optional (one replaces the other); `check` decides.
        needs: &[],
        severity: Severity::Critical,
        severity_reason: "a root access key is a permanent credential that no IAM policy can restrict: whoever holds it owns the account",
    };
}

pub struct RootAccessKey;

impl Rule for RootAccessKey {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let account = cx.account;
        let arn = cx.account_arn();
        let id = account.metadata.account_id.clone();
        let finding =
            |status, msg: String| cx.finding(Check::Local, arn.as_str(), id.as_str(), status, msg);
        let inactive_fails = cx.spec.option_bool("InactiveKeyFails");
        let problems = |section| -> Vec<String> {
            account
                .section_problems(section)
                .map(|p| format!("{} failed ({}: {})", p.operation, p.error_code, p.message))
                .collect()
        };
        let report_problems = problems(Section::IamCredentialReport);
        if report_problems.is_empty() {
            if let Some(root) = account.iam.credential_report.iter().find(|r| r.is_root()) {
                let no_password =
                    account.iam.account_summary.get("AccountPasswordPresent") == Some(&0);
                return vec![from_root_row(root, inactive_fails, no_password, finding)];
            }
        }
        let why = if report_problems.is_empty() {
            "the credential report has no <root_account> row".to_string()
        } else {
            format!(
                "the credential report could not be read ({})",
                report_problems.join("; ")
            )
        };
        let summary_problems = problems(Section::IamAccountSummary);
        if !summary_problems.is_empty() {
            return vec![finding(
                Status::Error,
                format!(
                    "{why} and GetAccountSummary could not be read ({}): cannot decide",
                    summary_problems.join("; ")
                ),
            )
            .noted()];
        }
        match account.iam.account_summary.get("AccountAccessKeysPresent") {
            Some(0) => vec![finding(
                Status::Pass,
                format!("the root user has no access key (GetAccountSummary AccountAccessKeysPresent = 0; {why})"),
            ).noted()],
            Some(n) => vec![finding(
                Status::Fail,
                format!("the root user has an access key (GetAccountSummary AccountAccessKeysPresent = {n}); whether it is active is not known because {why}"),
            ).noted()],
            None => vec![finding(
                Status::Error,
                format!("{why} and GetAccountSummary's AccountAccessKeysPresent is not in the snapshot: cannot decide"),
            ).noted()],
        }
    }
}

/// `no_password`: GetAccountSummary says the root user has no password (the report's
/// root row always says `not_supported` there).
fn from_root_row(
    root: &CredentialReportRow,
    inactive_fails: bool,
    no_password: bool,
    finding: impl Fn(Status, String) -> Finding,
) -> Finding {
    let keys: Vec<_> = root.access_keys().collect();
    if keys.is_empty() {
        if no_password && !root.mfa_active {
            return finding(
                Status::Pass,
                "the root user has no credentials at all (no password, no access key, no MFA): AWS Config reports NOT_APPLICABLE".into(),
            )
            .noted();
        }
        return finding(Status::Pass, "the root user has no access key".into());
    }
    let describe: Vec<String> = keys
        .iter()
        .map(|(n, k)| {
            format!(
                "key {n} ({}, created {})",
                if k.active { "active" } else { "inactive" },
                k.last_rotated.format("%Y-%m-%d")
            )
        })
        .collect();
    let any_active = keys.iter().any(|(_, k)| k.active);
    if any_active || inactive_fails {
        let hint = if any_active {
            ""
        } else {
            "; an inactive key still exists and can be re-activated: delete it"
        };
        finding(
            Status::Fail,
            format!(
                "the root user has {} access key(s): {}{hint}",
                keys.len(),
                describe.join(", ")
            ),
        )
    } else {
        finding(
            Status::Pass,
            format!(
                "the root user has only inactive access key(s) ({}), allowed by InactiveKeyFails: false",
                describe.join(", ")
            ),
        )
    }
}
