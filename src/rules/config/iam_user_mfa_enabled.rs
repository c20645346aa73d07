use crate::model::Section;
use crate::rules::{
    cat, rule, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Status, Trigger,
    ValueType,
};

rule! {
    /// ## What it checks
    /// That every IAM user has an MFA device enabled (AWS Config managed rule
    /// `iam-user-mfa-enabled`, periodic). One result per IAM user.
    ///
    /// The local check reads `mfa_active` from the user's IAM credential report row, or
    /// a virtual MFA device assigned to the user. A user missing from the credential
    /// report is an `error`.
    ///
    /// ## Why it matters
    /// A password or access key alone is one phishing e-mail or one leaked file away
    /// from an attacker. MFA stops most credential-theft attacks.
    ///
    /// ## How to fix
    /// Have the user assign an MFA device (IAM → Users → Security credentials → Assign
    /// MFA device), or remove users that should not exist. Put automation users that
    /// cannot use MFA in `IgnoreUsers` and restrict them otherwise.
    ///
    /// ## Choices made
    /// - Users **without a console password are in scope**, like the managed rule: it
    ///   does not narrow itself to console users (that is
    ///   `MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS`, and CIS 1.9). Option
    ///   `ConsoleUsersOnly: true` passes users without a password.
    /// - The root user is not covered (that is `ROOT_ACCOUNT_MFA_ENABLED`).
    ///
    /// ## References
    /// - AWS Config: iam-user-mfa-enabled
    /// - CIS AWS Foundations v5.0.0 1.9 (MFA for users with a console password)
    pub static META = RuleMeta {
        name: "IAM_USER_MFA_ENABLED",
        kind: Kind::Config,
        source_identifier: Some("IAM_USER_MFA_ENABLED"),
        aws_rule_name: Some("iam-user-mfa-enabled"),
        summary: "Every IAM user has MFA enabled",
        user_scoped: true,
        global: true,
        trigger: Trigger::Periodic,
        parameters: &[],
        options: &[Setting {
            name: "ConsoleUsersOnly",
            ty: ValueType::Bool,
            default: Some("false"),
            doc: "Only users with a console password need MFA (default false, like the managed rule)",
        }],
        needs: &[Section::IamAuthorization, Section::IamCredentialReport, Section::IamVirtualMfa],
        severity: Severity::High,
        severity_reason: "a user without MFA is one phished password or leaked key away from an attacker acting as that user",
    };
}

pub struct UserMfaEnabled;

impl Rule for UserMfaEnabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let console_only = cx.spec.option_bool("ConsoleUsersOnly");
        super::per_user_with_credentials(cx, |user, row| {
            let device = cx.index.mfa_devices.get(user.arn.as_str());
            if row.mfa_active {
                (Status::Pass, cat!(user.name, " has MFA enabled"))
            } else if let Some(d) = device {
                (
                    Status::Pass,
                    cat!(
                        user.name,
                        " has the virtual MFA device ",
                        d.serial_number,
                        " assigned"
                    ),
                )
            } else if console_only && !row.password_enabled {
                (
                    Status::Pass,
                    format!(
                        "{} has no MFA but also no console password (ConsoleUsersOnly)",
                        user.name
                    ),
                )
            } else {
                let kind = if row.password_enabled {
                    "a console password"
                } else {
                    "no console password"
                };
                (
                    Status::Fail,
                    cat!(user.name, " has no MFA device (", kind, ")"),
                )
            }
        })
    }
}
