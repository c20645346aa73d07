use crate::model::Section;
use crate::rules::{
    cat, rule, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Status, Trigger,
    ValueType,
};

rule! {
    /// ## What it checks
    /// That every IAM user is a member of at least one IAM group, or, with `groupNames`,
    /// of the listed groups (AWS Config managed rule `iam-user-group-membership-check`,
    /// change-triggered). One result per IAM user.
    ///
    /// ## Why it matters
    /// Users outside groups get their permissions some other way, usually attached to
    /// them one by one, which nobody reviews.
    ///
    /// ## How to fix
    /// Add the user to the right group (DevOps for people, SecurityAudit for auditors),
    /// or delete the user.
    ///
    /// ## Choices made
    /// - `groupNames` is a comma-separated list; names are trimmed and compared without
    ///   regard to case (IAM group names are unique regardless of case).
    /// - With several `groupNames`, membership in **any one** of them passes (the managed
    ///   rule's text says "members of the listed groups" without saying all; any-of is
    ///   the reading that matches the no-parameter behaviour). Option
    ///   `GroupMatch: "all"` requires every listed group.
    ///
    /// ## Parameters
    /// `groupNames` (optional): the groups users must belong to.
    ///
    /// ## References
    /// - AWS Config: iam-user-group-membership-check
    /// - CIS AWS Foundations v5.0.0 1.14 (related)
    pub static META = RuleMeta {
        name: "IAM_USER_GROUP_MEMBERSHIP_CHECK",
        kind: Kind::Config,
        source_identifier: Some("IAM_USER_GROUP_MEMBERSHIP_CHECK"),
        aws_rule_name: Some("iam-user-group-membership-check"),
        summary: "Every IAM user is a member of at least one group (or of groupNames)",
        user_scoped: true,
        global: true,
        trigger: Trigger::Changes(&["AWS::IAM::User"]),
        parameters: &[Setting {
            name: "groupNames",
            ty: ValueType::Csv,
            default: None,
            doc: "Comma-separated group names users must be members of",
        }],
        options: &[Setting {
            name: "GroupMatch",
            ty: ValueType::Choice(&["any", "all"]),
            default: Some("any"),
            doc: "With several groupNames: membership in any one (default) or in all",
        }],
        needs: &[Section::IamAuthorization],
        severity: Severity::Low,
        severity_reason: "users outside groups escape the permissions managed for their role; a hygiene issue",
    };
}

pub struct GroupMembership;

impl Rule for GroupMembership {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let wanted: Vec<String> = cx
            .spec
            .param("groupNames")
            .map(|s| {
                s.split(',')
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let all = cx.spec.option("GroupMatch") == Some("all");
        super::per_user(cx, |user| {
            let member = |g: &String| user.groups.iter().any(|ug| ug.eq_ignore_ascii_case(g));
            let groups = if user.groups.is_empty() {
                "no group".to_string()
            } else {
                user.groups.join(", ")
            };
            let groups = groups.as_str();
            if wanted.is_empty() {
                return if user.groups.is_empty() {
                    (Status::Fail, cat!(user.name, " is in no IAM group"))
                } else {
                    (Status::Pass, cat!(user.name, " is in ", groups))
                };
            }
            let ok = if all {
                wanted.iter().all(member)
            } else {
                wanted.iter().any(member)
            };
            let need = format!(
                "{} of {}",
                if all { "all" } else { "one" },
                wanted.join(", ")
            );
            if ok {
                (
                    Status::Pass,
                    cat!(user.name, " is in ", groups, " (", need, " required)"),
                )
            } else {
                (
                    Status::Fail,
                    cat!(user.name, " is in ", groups, ", but must be in ", need),
                )
            }
        })
    }
}
