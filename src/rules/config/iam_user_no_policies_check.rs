use crate::model::Section;
use crate::rules::{
    cat, rule, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Status, Trigger,
    ValueType,
};

rule! {
    /// ## What it checks
    /// That no IAM user has policies of its own: permissions should come from groups or
    /// roles (AWS Config managed rule `iam-user-no-policies-check`, change-triggered).
    /// One result per IAM user.
    ///
    /// ## Why it matters
    /// Permissions scattered over individual users cannot be reviewed: nobody sees who
    /// can do what. Groups make access a small set of named roles that an auditor can
    /// read.
    ///
    /// ## How to fix
    /// Move the user's permissions to a group (or a role), put the user in that group,
    /// then detach the managed policies from the user and delete its inline policies.
    ///
    /// ## Choices made
    /// - **Inline policies count**, as well as attached managed policies: the CIS audit
    ///   (1.14) counts both, and AWS maps this rule to that control. The message says
    ///   which kind was found. Option `CountInlinePolicies: false` counts managed
    ///   policies only.
    /// - A permissions boundary is not a permissions policy and does not count.
    ///
    /// ## References
    /// - AWS Config: iam-user-no-policies-check
    /// - CIS AWS Foundations v5.0.0 1.14 "Ensure IAM Users Receive Permissions Only Through Groups"
    pub static META = RuleMeta {
        name: "IAM_USER_NO_POLICIES_CHECK",
        kind: Kind::Config,
        source_identifier: Some("IAM_USER_NO_POLICIES_CHECK"),
        aws_rule_name: Some("iam-user-no-policies-check"),
        summary: "No IAM user has policies attached directly (permissions come from groups)",
        user_scoped: true,
        global: true,
        trigger: Trigger::Changes(&["AWS::IAM::User"]),
        parameters: &[],
        options: &[Setting {
            name: "CountInlinePolicies",
            ty: ValueType::Bool,
            default: Some("true"),
            doc: "Whether inline user policies count as attached policies (default true)",
        }],
        needs: &[Section::IamAuthorization],
        severity: Severity::Low,
        severity_reason: "permissions on users instead of groups or roles are harder to review and to revoke; a hygiene issue, not an exposure",
    };
}

pub struct UserNoPolicies;

impl Rule for UserNoPolicies {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let count_inline = cx.spec.option_bool("CountInlinePolicies");
        super::per_user(cx, |user| {
            let mut found = Vec::new();
            if !user.attached_policies.is_empty() {
                let names: Vec<&str> = user
                    .attached_policies
                    .iter()
                    .map(|a| a.rsplit('/').next().unwrap_or(a))
                    .collect();
                found.push(format!("managed: {}", names.join(", ")));
            }
            if count_inline && !user.inline_policies.is_empty() {
                let names: Vec<&str> = user
                    .inline_policies
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                found.push(format!("inline: {}", names.join(", ")));
            }
            if found.is_empty() {
                (Status::Pass, cat!(user.name, " has no policies of its own"))
            } else {
                (
                    Status::Fail,
                    format!(
                        "{} has policies attached directly ({})",
                        user.name,
                        found.join("; ")
                    ),
                )
            }
        })
    }
}
