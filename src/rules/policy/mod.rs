//! The two Policy rules: CloudKestrel's own policy must exist in the account unchanged
//! (`policy-document`) and be attached to every IAM user (`attached`).

pub mod force_mfa;
pub mod user_source_ip_restrictions;

use serde_json::Value;

use crate::model::{ManagedPolicy, Section};
use crate::policy::{normalize, Policy};
use crate::rules::{cat, AccountState, Cause, Check, Context, Finding, Status};
use crate::targets::SOURCE_IP_PARAM;

pub const NEEDS: &[Section] = &[Section::IamAuthorization];

/// Our policy for this target: the template with every `"PARAM_1_SOURCE_IP"` string
/// replaced by the target's list of source IPs, and every ARN (`arn:aws:…`) moved to
/// the account's partition (`arn:aws-us-gov:…` in GovCloud, `arn:aws-cn:…` in China:
/// the templates are written for the commercial one, where a copy of them would match
/// no resource in another partition).
pub fn render(template: &str, source_ips: &[String], partition: &str) -> Result<Value, String> {
    fn walk(v: &mut Value, ips: &[String], partition: &str) {
        match v {
            Value::String(s) if s == SOURCE_IP_PARAM => {
                *v = Value::Array(ips.iter().cloned().map(Value::String).collect())
            }
            Value::String(s) if partition != "aws" => {
                if let Some(rest) = s.strip_prefix("arn:aws:") {
                    *s = format!("arn:{partition}:{rest}");
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, ips, partition)),
            Value::Object(m) => m.values_mut().for_each(|x| walk(x, ips, partition)),
            _ => {}
        }
    }
    let mut doc = crate::policy::parse_document(template).map_err(|e| e.to_string())?;
    walk(&mut doc, source_ips, partition);
    Ok(doc)
}

/// The account's customer managed policy with this name (IAM names are case-insensitive).
fn find_policy<'a>(cx: &Context<'a>, name: &str) -> Option<&'a ManagedPolicy> {
    cx.account
        .iam
        .policies
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Both checks of a Policy rule.
pub fn check(cx: &Context<'_>, template: &str) -> Vec<Finding> {
    let name = cx.rule_name();
    if let Some(e) = cx.section_errors(Check::PolicyDocument, NEEDS) {
        let mut attached = e.clone();
        attached.check = Check::Attached;
        attached.scope = Check::Attached.scope();
        return vec![e, attached];
    }
    let mut out = vec![policy_document(cx, template)];
    let policy = find_policy(cx, name);
    // Without the policy, every user's `attached` failure follows from the
    // `policy-document` one: creating the policy is the one thing to do.
    let missing = match policy {
        Some(_) => None,
        None => Some(Cause::new(Check::PolicyDocument, missing_arn(cx).into())),
    };
    for (user, (arn, user_name)) in cx.account.iam.users.iter().zip(&cx.index.user_names) {
        if cx.ignored(&user.name) {
            out.push(cx.ignored_finding(Check::Attached, arn, user_name));
            continue;
        }
        let finding = |status, msg: String| {
            cx.finding(Check::Attached, arn.clone(), user_name.clone(), status, msg)
        };
        let Some(policy) = policy else {
            let mut f = finding(
                Status::Fail,
                format!(
                    "{} cannot have {name} attached: the account has no such policy",
                    user.name
                ),
            );
            // (Always there when the policy is not.)
            if let Some(cause) = &missing {
                f = f.follows(cause);
            }
            out.push(f);
            continue;
        };
        if user.attached_policies.contains(&policy.arn) {
            out.push(finding(
                Status::Pass,
                cat!(name, " is attached to ", user.name, " directly"),
            ));
            continue;
        }
        let mut via = user
            .groups
            .iter()
            .filter_map(|g| cx.account.group(g))
            .filter(|g| g.attached_policies.contains(&policy.arn))
            .map(|g| g.name.as_str());
        out.push(if let Some(first) = via.next() {
            // Written in place: this runs for every user.
            let mut message = cat!(
                name,
                " is attached to ",
                user.name,
                " through group ",
                first
            );
            for g in via {
                message.push_str(", ");
                message.push_str(g);
            }
            finding(Status::Pass, message)
        } else {
            // Joined from its pieces, like the passes: a failure per user is common.
            let (open, groups, close) = if user.groups.is_empty() {
                (" (the user is in no group)", String::new(), "")
            } else {
                (" (groups: ", user.groups.join(", "), ")")
            };
            finding(
                Status::Fail,
                cat!(
                    name,
                    " is not attached to ",
                    user.name,
                    ", neither directly nor through a group",
                    open,
                    groups,
                    close
                ),
            )
        });
    }
    out
}

/// The ARN the `policy-document` failure of a missing policy is about: the policy's,
/// had the account created it.
fn missing_arn(cx: &Context<'_>) -> String {
    cx.iam_arn(&format!("policy/{}", cx.rule_name()))
}

fn policy_document(cx: &Context<'_>, template: &str) -> Finding {
    let name = cx.rule_name();
    let Some(policy) = find_policy(cx, name) else {
        return cx
            .finding(
                Check::PolicyDocument,
                missing_arn(cx),
                name,
                Status::Fail,
                format!("the account has no customer managed policy named {name}: create it from policies/{name}.json"),
            )
            .in_state(AccountState::PolicyMissing);
    };
    let finding = |status, msg: String| {
        cx.finding(
            Check::PolicyDocument,
            policy.arn.as_str(),
            policy.name.as_str(),
            status,
            msg,
        )
    };
    let expected = match render(
        template,
        &cx.spec.source_ips,
        cx.account.metadata.partition(),
    )
    .and_then(|d| normalize(&d).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            return finding(
                Status::Error,
                format!("CloudKestrel's own {name} template is invalid: {e}"),
            )
        }
    };
    if let Some(e) = cx.resource_error(
        Check::PolicyDocument,
        Section::IamAuthorization,
        &policy.arn,
        (&policy.arn, &policy.name),
        &format!("whether {name} is CloudKestrel's"),
    ) {
        return e;
    }
    let Some(doc) = policy.default_document() else {
        return finding(
            Status::Error,
            format!(
                "the default version {} of {} is missing from the snapshot",
                policy.default_version_id, policy.arn
            ),
        );
    };
    let actual: Policy = match normalize(doc) {
        Ok(p) => p,
        Err(e) => {
            return finding(
                Status::Fail,
                format!(
                    "the account's {name} (version {}) is not a valid policy: {e}",
                    policy.default_version_id
                ),
            )
            .in_state(AccountState::PolicyDiffers)
        }
    };
    if expected.identical(&actual) {
        return finding(
            Status::Pass,
            format!(
                "{name} (default version {}) is identical to CloudKestrel's",
                policy.default_version_id
            ),
        )
        .in_state(AccountState::PolicyIdentical);
    }
    let diff = expected.diff(&actual);
    let mut f = finding(
        Status::Fail,
        format!(
            "{name} (default version {}) differs from CloudKestrel's: {} changed, {} missing, {} extra statement(s)",
            policy.default_version_id,
            diff.changed.len(),
            diff.missing.len(),
            diff.extra.len()
        ),
    );
    f.details = diff.lines();
    f.in_state(AccountState::PolicyDiffers)
}
