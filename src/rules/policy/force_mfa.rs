use crate::model::Section;
use crate::rules::{rule, Context, Finding, Kind, Rule, RuleMeta, Severity, Trigger};

rule! {
    /// ## What it checks
    /// Two things, for the customer managed policy named `Force_MFA`:
    /// - `policy-document`: the account has it, and its **default version** is
    ///   semantically identical to `policies/Force_MFA.json`. Statement order, `Sid`, a
    ///   string vs a one-element list, the case of action names and condition keys,
    ///   duplicates and whitespace do not matter; anything else does. A copy that says
    ///   `Bool` where ours says `BoolIfExists` fails: it lets long-term access keys call
    ///   every API without MFA.
    /// - `attached`: every IAM user has it, attached directly or through one of the
    ///   user's groups. Users in `IgnoreUsers` pass with a note (automation users cannot
    ///   type MFA codes).
    ///
    /// ## Why it matters
    /// Without MFA a stolen password or access key is a full compromise. This policy lets
    /// a user manage their own credentials and MFA device, and denies everything else
    /// until they authenticate with MFA.
    ///
    /// ## How to fix
    /// Create or update the policy from `policies/Force_MFA.json` (set the new version as
    /// default) and attach it to the DevOps group; put every human user in that group.
    ///
    /// ## Choices made
    /// - The policy is AWS's "Allows MFA-authenticated IAM users to manage their own
    ///   credentials on the Security credentials page" example, as published on
    ///   2022-12-16 (the version without `iam:GetAccessKeyLastUsed`; the full later
    ///   revision was not available to verify). Copies that add actions are *different*
    ///   policies and fail, with the extra actions listed.
    /// - Only the default version counts: it is the one IAM enforces.
    /// - `Bool` vs `BoolIfExists`, another condition operator, or an operator written in
    ///   another case are differences (IAM does not document operator names as
    ///   case-insensitive).
    ///
    /// ## References
    /// - IAM User Guide: Permit users to manage their credentials and MFA settings
    ///   (tutorial_users-self-manage-mfa-and-creds)
    /// - IAM User Guide: reference_policies_examples_aws_my-sec-creds-self-manage
    /// - CIS AWS Foundations v5.0.0 1.9 (MFA for console users)
    pub static META = RuleMeta {
        name: "Force_MFA",
        kind: Kind::Policy,
        source_identifier: None,
        aws_rule_name: None,
        summary: "Every user has CloudKestrel's Force_MFA policy attached, and the account's copy is identical to ours",
        user_scoped: true,
        global: true,
        trigger: Trigger::NotConfig,
        parameters: &[],
        options: &[],
        needs: &[Section::IamAuthorization],
        severity: Severity::High,
        severity_reason: "without it, a stolen password or access key alone acts with the user's permissions: MFA is what stops most credential theft",
    };
}

pub const TEMPLATE: &str = include_str!("../../../policies/Force_MFA.json");

pub struct ForceMfa;

impl Rule for ForceMfa {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        super::check(cx, TEMPLATE)
    }
}
