use crate::model::Section;
use crate::policy::{normalize, Statement};
use crate::rules::{
    rule, Check, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Status, Trigger,
    ValueType,
};

rule! {
    /// ## What it checks
    /// That no customer managed policy has a statement granting every action on every
    /// resource (AWS Config managed rule `iam-policy-no-statements-with-admin-access`,
    /// change-triggered). One result per customer managed policy, attached or not.
    ///
    /// After normalising the default version (scalars and lists, action case), a
    /// statement is **admin** when its `Effect` is `Allow`, its actions include `*` (or
    /// `*:*`), and its resources include `*`, whether written as a string or inside a
    /// list (`["*"]`, `["s3:GetObject", "*"]`). A service wildcard such as `s3:*` on
    /// `*` is not admin (the managed rule documents it as compliant).
    ///
    /// ## Why it matters
    /// `Allow * on *` is full administrator access. Whoever gets it (by attachment, or by
    /// attaching it later) can do anything, including erasing the audit trail.
    ///
    /// ## How to fix
    /// Replace the statement with the actions and resources actually needed, or use AWS's
    /// managed job-function policies for real administrators.
    ///
    /// ## Choices made
    /// - **`NotAction` counts as admin**: `Allow` + `NotAction` + `Resource: "*"` grants
    ///   every action except a few, including every action AWS adds later. The message
    ///   says it is admin-equivalent through NotAction. Option `NotActionIsAdmin: false`
    ///   passes such statements.
    /// - **Conditions do not excuse a statement**: an admin statement with a `Condition`
    ///   still fails (conditions are easily satisfied, e.g. by a source IP); the message
    ///   mentions the condition.
    /// - Deny statements are not subtracted: the rule looks for admin grants, as AWS
    ///   Config does.
    /// - `Allow` `*` with `NotResource` (everything but some resources) is not counted:
    ///   its resources do not include `*`, the managed rule's test. It is near-admin;
    ///   review such statements by hand.
    /// - Only the **default version** is evaluated: it is the one IAM enforces. A policy
    ///   whose document cannot be analysed is an `error`.
    /// - With `excludePermissionBoundaryPolicy: true`, policies used as a permissions
    ///   boundary anywhere (`PermissionsBoundaryUsageCount > 0`) pass with a note.
    ///
    /// ## References
    /// - AWS Config: iam-policy-no-statements-with-admin-access
    /// - CIS AWS Foundations v5.0.0 1.15 (CIS checks attached policies; this rule checks all customer managed ones)
    pub static META = RuleMeta {
        name: "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        kind: Kind::Config,
        source_identifier: Some("IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS"),
        aws_rule_name: Some("iam-policy-no-statements-with-admin-access"),
        summary: "No customer managed policy allows every action on every resource",
        user_scoped: false,
        global: true,
        trigger: Trigger::Changes(&["AWS::IAM::Policy"]),
        parameters: &[Setting {
            name: "excludePermissionBoundaryPolicy",
            ty: ValueType::Bool,
            default: Some("false"),
            doc: "Leave out policies used as permissions boundaries (AWS default false)",
        }],
        options: &[Setting {
            name: "NotActionIsAdmin",
            ty: ValueType::Bool,
            default: Some("true"),
            doc: "Whether Allow + NotAction on * counts as admin access (default true)",
        }],
        needs: &[Section::IamAuthorization],
        severity: Severity::High,
        severity_reason: "a policy that allows every action on every resource makes whoever has it an administrator: one stolen credential then owns the account",
    };
}

pub struct NoAdminAccess;

/// Why a statement is admin, if it is.
pub fn admin_reason(s: &Statement, not_action_is_admin: bool) -> Option<String> {
    if !s.is_allow() || !s.resource.as_ref().is_some_and(|r| r.contains("*")) {
        return None;
    }
    let cond = if s.condition.is_empty() {
        ""
    } else {
        " (with a Condition, which does not limit what is granted)"
    };
    // Quoted as written (`"Action": ["*"]`); decided on the normalised forms.
    let w = &s.written;
    let on = w.element_or_none("Resource");
    if let Some(a) = &s.action {
        if a.contains("*") || a.contains("*:*") {
            return Some(format!(
                "Allow {} on {on}{cond}",
                w.element_or_none("Action")
            ));
        }
    }
    // `NotAction: "*"` excludes every action: it grants nothing.
    if not_action_is_admin && s.not_action.as_ref().is_some_and(|na| !na.contains("*")) {
        return Some(format!(
            "Allow {} on {on}: every other action, now and in future, is granted{cond}",
            w.element_or_none("NotAction")
        ));
    }
    None
}

impl Rule for NoAdminAccess {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let exclude_boundaries = cx.spec.param("excludePermissionBoundaryPolicy") == Some("true");
        let not_action_is_admin = cx.spec.option_bool("NotActionIsAdmin");
        cx.account
            .iam
            .policies
            .iter()
            .map(|p| {
                let finding = |status, msg: String| cx.finding(Check::Local, p.arn.as_str(), p.name.as_str(), status, msg);
                if exclude_boundaries && p.permissions_boundary_usage_count > 0 {
                    return finding(
                        Status::Pass,
                        format!("{} is used as a permissions boundary: excluded (excludePermissionBoundaryPolicy)", p.name),
                    );
                }
                if let Some(e) = cx.resource_error(
                    Check::Local,
                    Section::IamAuthorization,
                    &p.arn,
                    (&p.arn, &p.name),
                    &format!("whether {} grants admin access", p.name),
                ) {
                    return e;
                }
                let Some(doc) = p.default_document() else {
                    return finding(
                        Status::Error,
                        format!("the default version {} of {} is not in the snapshot", p.default_version_id, p.name),
                    );
                };
                let policy = match normalize(doc) {
                    Ok(policy) => policy,
                    Err(e) => return finding(Status::Error, format!("cannot analyse {}: {e}", p.name)),
                };
                let reasons: Vec<String> = policy
                    .statements
                    .iter()
                    .filter_map(|s| admin_reason(s, not_action_is_admin).map(|r| (r, s)))
                    .map(|(r, s)| format!("{r}; {}: {}", s.written.label(), s.written.quote()))
                    .collect();
                if reasons.is_empty() {
                    finding(
                        Status::Pass,
                        format!("{} (version {}) grants no admin access", p.name, p.default_version_id),
                    )
                } else {
                    let mut f = finding(
                        Status::Fail,
                        format!(
                            "{} (version {}) grants admin access in {} statement(s)",
                            p.name,
                            p.default_version_id,
                            reasons.len()
                        ),
                    );
                    f.details = reasons;
                    f
                }
            })
            .collect()
    }
}
