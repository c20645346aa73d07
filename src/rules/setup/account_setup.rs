use crate::model::Section;
use crate::rules::{
    rule, Check, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Status, Trigger,
    ValueType,
};

rule! {
    /// ## What it checks
    /// That the account is set up the way CloudKestrel expects (`setup` results, one per
    /// expected attachment):
    /// - a **DevOps** group, for people, with `Force_MFA` and
    ///   `User_Source_IP_Restrictions` attached;
    /// - a **SecurityAudit** group, for the auditor, with `User_Source_IP_Restrictions`,
    ///   AWS's managed `SecurityAudit` policy and `Config_Write` attached.
    ///
    /// `Force_MFA`, `User_Source_IP_Restrictions` and `Config_Write` are CloudKestrel's
    /// customer managed policies (`policies/`), matched by name; `SecurityAudit` is the
    /// AWS managed policy `arn:aws:iam::aws:policy/SecurityAudit`.
    ///
    /// ## Why it matters
    /// Group-based setup is what makes the other rules pass by construction: a user put
    /// in DevOps gets MFA enforcement and the source-IP restriction, and the auditor gets
    /// read access plus exactly what `cloudkestrel apply` needs, nothing more.
    ///
    /// ## How to fix
    /// Create the groups, create the policies from `policies/`, attach them as listed,
    /// and attach AWS's `SecurityAudit` to the SecurityAudit group.
    ///
    /// ## Choices made
    /// - It is evaluated for **every target**, as the original tool documented this setup:
    ///   a target that does not list `{"Setup": {"Name": "Account_Setup"}}` gets it with
    ///   the defaults. `"Options": {"Enabled": false}` turns it off for a target.
    /// - Group names can be changed with the options `DevOpsGroup` and `AuditGroup`;
    ///   names are compared without regard to case (IAM names are case-insensitive).
    /// - Whether the attached policies' documents are correct is the job of the Policy
    ///   rules (`policy-document`); this rule checks the attachments.
    ///
    /// ## References
    /// - The original CloudKestrel README, "Expected AWS Setup"
    /// - CIS AWS Foundations v5.0.0 1.14 (permissions through groups)
    pub static META = RuleMeta {
        name: "Account_Setup",
        kind: Kind::Setup,
        source_identifier: None,
        aws_rule_name: None,
        summary: "A DevOps group with Force_MFA and User_Source_IP_Restrictions, and a SecurityAudit group with User_Source_IP_Restrictions, SecurityAudit and Config_Write",
        user_scoped: false,
        global: true,
        trigger: Trigger::NotConfig,
        parameters: &[],
        options: &[
            Setting {
                name: "Enabled",
                ty: ValueType::Bool,
                default: Some("true"),
                doc: "Whether the setup is checked for this target (default true)",
            },
            Setting {
                name: "DevOpsGroup",
                ty: ValueType::Name,
                default: Some("DevOps"),
                doc: "The name of the group for people (default DevOps)",
            },
            Setting {
                name: "AuditGroup",
                ty: ValueType::Name,
                default: Some("SecurityAudit"),
                doc: "The name of the group for the auditor (default SecurityAudit)",
            },
        ],
        needs: &[Section::IamAuthorization],
        severity: Severity::Low,
        severity_reason: "the expected groups and policies make the other rules easy to satisfy; their absence is no exposure by itself",
    };
}

/// An expected attachment: a customer managed policy by name, or an AWS managed one.
enum Expected {
    Ours(&'static str),
    AwsManaged(&'static str),
}

impl Expected {
    fn name(&self) -> &'static str {
        match self {
            Expected::Ours(n) | Expected::AwsManaged(n) => n,
        }
    }

    fn matches(&self, arn: &str, account_id: &str) -> bool {
        match self {
            Expected::Ours(n) => {
                arn.contains(&format!(":iam::{account_id}:policy/"))
                    && arn
                        .rsplit('/')
                        .next()
                        .is_some_and(|x| x.eq_ignore_ascii_case(n))
            }
            Expected::AwsManaged(n) => arn.ends_with(&format!(":iam::aws:policy/{n}")),
        }
    }
}

pub struct AccountSetup;

impl Rule for AccountSetup {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        if !cx.spec.option_bool("Enabled") {
            return Vec::new();
        }
        if let Some(e) = cx.section_errors(Check::Setup, META.needs) {
            return vec![e];
        }
        let account_id = &cx.account.metadata.account_id;
        let devops = cx.spec.option("DevOpsGroup").unwrap_or("DevOps");
        let audit = cx.spec.option("AuditGroup").unwrap_or("SecurityAudit");
        let expected: [(&str, &str, Vec<Expected>); 2] = [
            (
                devops,
                "people",
                vec![
                    Expected::Ours("Force_MFA"),
                    Expected::Ours("User_Source_IP_Restrictions"),
                ],
            ),
            (
                audit,
                "the auditor",
                vec![
                    Expected::Ours("User_Source_IP_Restrictions"),
                    Expected::AwsManaged("SecurityAudit"),
                    Expected::Ours("Config_Write"),
                ],
            ),
        ];
        let mut out = Vec::new();
        // One group named for both purposes is checked once for each policy.
        let mut checked: Vec<(String, &'static str)> = Vec::new();
        let mut missing = std::collections::HashSet::new();
        for (group_name, purpose, policies) in expected {
            let policies: Vec<Expected> = policies
                .into_iter()
                .filter(|p| {
                    let key = (group_name.to_ascii_lowercase(), p.name());
                    let first = !checked.contains(&key);
                    checked.push(key);
                    first
                })
                .collect();
            if policies.is_empty() {
                continue;
            }
            let Some(group) = cx.account.group(group_name) else {
                if !missing.insert(group_name.to_ascii_lowercase()) {
                    // Named for the other purpose too: already reported missing.
                    continue;
                }
                out.push(cx.finding(
                    Check::Setup,
                    cx.iam_arn(&format!("group/{group_name}")),
                    group_name,
                    Status::Fail,
                    format!(
                        "there is no {group_name} group (for {purpose}); create it and attach {}",
                        policies.iter().map(Expected::name).collect::<Vec<_>>().join(", ")
                    ),
                ));
                continue;
            };
            for p in policies {
                let attached = group
                    .attached_policies
                    .iter()
                    .any(|a| p.matches(a, account_id));
                out.push(
                    cx.finding(
                        Check::Setup,
                        group.arn.as_str(),
                        group.name.as_str(),
                        if attached { Status::Pass } else { Status::Fail },
                        if attached {
                            format!("{} has {} attached", group.name, p.name())
                        } else {
                            format!(
                                "{} (for {purpose}) does not have {} attached",
                                group.name,
                                p.name()
                            )
                        },
                    )
                    .about(p.name()),
                );
            }
        }
        out
    }
}
