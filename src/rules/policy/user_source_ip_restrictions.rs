use crate::model::Section;
use crate::rules::{
    rule, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Trigger, ValueType,
};

rule! {
    /// ## What it checks
    /// Two things, for the customer managed policy named `User_Source_IP_Restrictions`:
    /// - `policy-document`: the account has it, and its **default version** is
    ///   semantically identical to `policies/User_Source_IP_Restrictions.json` with
    ///   `"PARAM_1_SOURCE_IP"` replaced by this target's list of allowed IPs. The same
    ///   IPs in another order pass; another IP, a missing one or an extra one fails.
    /// - `attached`: every IAM user has it, attached directly or through a group. Users
    ///   in `IgnoreUsers` pass with a note.
    ///
    /// ## Why it matters
    /// A leaked access key is useless outside the allowed networks: every request from
    /// another source IP is denied, whatever else the user's policies allow.
    ///
    /// ## How to fix
    /// Create or update the policy from `policies/User_Source_IP_Restrictions.json` with
    /// your IPs in place of `"PARAM_1_SOURCE_IP"`, make that version the default, and
    /// attach it to the DevOps and SecurityAudit groups.
    ///
    /// ## Choices made
    /// - The policy is AWS's newest "Denies access to AWS based on the source IP"
    ///   example: `Deny` `*` on `*` with `NotIpAddress` `aws:SourceIp`, without the older
    ///   `aws:ViaAWSService` condition (AWS services acting through forward access
    ///   sessions keep the caller's IP). A copy that still has `aws:ViaAWSService` is a
    ///   different policy and fails, and the report says so.
    /// - IPs are compared as written (`1.2.3.4` is not `1.2.3.4/32`), because that is
    ///   what the policy text holds.
    ///
    /// ## Inputs
    /// `Source_IPs` (or `Params: [{"PARAM_1_SOURCE_IP": [...]}]`): the allowed IPv4/IPv6
    /// addresses or CIDR ranges. `IgnoreUsers`: users that need not have it attached.
    ///
    /// ## References
    /// - IAM User Guide: reference_policies_examples_aws_deny-ip
    /// - IAM User Guide: condition operators (IP address condition operators)
    pub static META = RuleMeta {
        name: "User_Source_IP_Restrictions",
        kind: Kind::Policy,
        source_identifier: None,
        aws_rule_name: None,
        summary: "Every user has CloudKestrel's source-IP restriction attached, and the account's copy is identical to ours with this target's IPs",
        user_scoped: true,
        global: true,
        trigger: Trigger::NotConfig,
        parameters: &[Setting {
            name: crate::targets::SOURCE_IP_PARAM,
            ty: ValueType::Csv,
            default: None,
            doc: "The allowed source IPs or CIDR ranges (Source_IPs)",
        }],
        options: &[],
        needs: &[Section::IamAuthorization],
        severity: Severity::Medium,
        severity_reason: "credentials then work from anywhere on the internet; MFA still protects console users, so this is a second line of defence",
    };
}

pub const TEMPLATE: &str = include_str!("../../../policies/User_Source_IP_Restrictions.json");

pub struct UserSourceIpRestrictions;

impl Rule for UserSourceIpRestrictions {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        super::check(cx, TEMPLATE)
    }
}
