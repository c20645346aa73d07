//! The eight AWS Config managed rules. Each produces three kinds of result:
//! - `deployed`: AWS Config has a rule with this SourceIdentifier and a recorder that
//!   is recording (shared, here);
//! - `aws-config`: AWS Config's own recorded verdicts per resource (shared, here);
//! - `local`: the same verdict computed by CloudKestrel from IAM and S3 data (one file
//!   per rule), so an account without AWS Config is still audited.
//!
//! Where AWS Config and the local check disagree on a resource, both results say so.

pub mod iam_policy_no_statements_with_admin_access;
pub mod iam_root_access_key_check;
pub mod iam_user_group_membership_check;
pub mod iam_user_mfa_enabled;
pub mod iam_user_no_policies_check;
pub mod iam_user_unused_credentials_check;
pub mod recording;
pub mod s3_access;
pub mod s3_bucket_public_read_prohibited;
pub mod s3_bucket_public_write_prohibited;

// foldhash: see snapshot/mod.rs.
use foldhash::{HashMap, HashMapExt};

use crate::model::{ConfigRegion, ConfigRule, CredentialReportRow, Section, User};
use std::sync::Arc;

use crate::rules::{AccountState, Check, Context, Finding, Status};

/// All three checks of a Config rule.
pub fn evaluate(cx: &Context<'_>) -> Vec<Finding> {
    let meta = cx.spec.rule.meta();
    let deployed = deployed(cx);
    let mut aws = aws_config(cx);
    let mut local = match cx.section_errors(Check::Local, meta.needs) {
        Some(e) => vec![e],
        None => cx.spec.rule.check(cx),
    };
    flag_disagreements(&mut aws, &mut local);
    let mut out = Vec::with_capacity(1 + aws.len() + local.len());
    out.push(deployed);
    out.extend(aws);
    out.extend(local);
    out
}

/// The AWS Config rules in `region` that implement this rule.
fn deployed_rules<'a>(
    cx: &Context<'_>,
    region: &'a ConfigRegion,
) -> impl Iterator<Item = &'a ConfigRule> {
    let id = cx.spec.rule.meta().source_identifier.unwrap_or_default();
    region.rules.iter().filter(move |r| r.implements(id))
}

fn deployed(cx: &Context<'_>) -> Finding {
    let meta = cx.spec.rule.meta();
    let id = meta.source_identifier.unwrap_or_default();
    if let Some(e) = cx.section_errors(
        Check::Deployed,
        &[Section::ConfigRecorders, Section::ConfigRules],
    ) {
        return e;
    }
    let regions = &cx.account.config.regions;
    // A change-triggered rule is evaluated only on changes the recorder records.
    let recorded_types = match meta.trigger {
        crate::rules::Trigger::Changes(types) => types,
        _ => &[],
    };
    let mut ok_regions = Vec::new();
    let mut gaps = Vec::new();
    let mut drift = Vec::new();
    let mut unknown_coverage = Vec::new();
    for region in regions {
        let rules: Vec<&ConfigRule> = deployed_rules(cx, region).collect();
        let recording = region.recorders.iter().any(|r| r.recording);
        let coverage = if recorded_types.is_empty() {
            recording::Coverage::Records
        } else {
            recording::region_coverage(region, recorded_types)
        };
        match (rules.is_empty(), recording) {
            (false, true) => match coverage {
                recording::Coverage::Records => ok_regions.push(region.region.as_str()),
                recording::Coverage::Unknown => {
                    ok_regions.push(region.region.as_str());
                    unknown_coverage.push(region.region.as_str());
                }
                recording::Coverage::Not(why) => gaps.push(format!(
                    "{}: the rule exists and the recorder is recording, but {why}, so AWS Config never evaluates this change-triggered rule; to fix, {}",
                    region.region,
                    recording::remedy(region, recorded_types)
                )),
            },
            (true, _) => gaps.push(format!(
                "{}: no rule with SourceIdentifier {id}",
                region.region
            )),
            (false, false) if region.recorders.is_empty() => gaps.push(format!(
                "{}: the rule exists but there is no configuration recorder",
                region.region
            )),
            (false, false) => gaps.push(format!(
                "{}: the rule exists but the configuration recorder is not recording",
                region.region
            )),
        }
        let wanted = cx.spec.effective_parameters();
        for r in rules {
            let have = crate::targets::parse_input_parameters(r.input_parameters.as_deref());
            if !cx.spec.same_parameters(&have) {
                drift.push(format!(
                    "{} in {} runs with parameters {:?}, targets.json says {:?}: AWS Config's verdicts follow the deployed values",
                    r.name, region.region, have, wanted
                ));
            }
        }
    }
    let enough = if meta.global {
        !ok_regions.is_empty()
    } else {
        !regions.is_empty() && gaps.is_empty()
    };
    let resource = cx.account_arn();
    let name = cx.account.metadata.account_id.clone();
    if enough {
        let mut f = cx.finding(
            Check::Deployed,
            resource,
            name,
            Status::Pass,
            format!(
                "deployed in AWS Config and recording in {}",
                ok_regions.join(", ")
            ),
        );
        let evaluated = cx.account.config.regions.iter().any(|r| {
            deployed_rules(cx, r).any(|d| r.compliance.iter().any(|c| c.config_rule_name == d.name))
        });
        let unreadable = cx
            .account
            .problems
            .iter()
            .any(|p| p.section == Section::ConfigCompliance);
        if !evaluated && !unreadable {
            f.message
                .push_str(" (AWS Config has recorded no evaluation results for it yet: only CloudKestrel's local verdicts are shown)");
            f.note = true;
        }
        if !drift.is_empty() {
            f.message
                .push_str(&format!(" (note: {})", drift.join("; ")));
            f.note = true;
        }
        if !unknown_coverage.is_empty() && ok_regions.len() == unknown_coverage.len() {
            f.message.push_str(&format!(
                " (note: this snapshot does not say whether the recorder in {} records {}, which this change-triggered rule needs: collect again with this version to check)",
                unknown_coverage.join(", "),
                recorded_types.join(", ")
            ));
            f.note = true;
        }
        f.details = drift;
        return f.in_state(AccountState::Deployed);
    }
    // Deployed where it is needed but not evaluated there: apply cannot change a
    // recorder, so the fix is the one each gap names.
    let has_rule = |r: &&ConfigRegion| deployed_rules(cx, r).next().is_some();
    let only_unrecorded = !recorded_types.is_empty()
        && !regions.is_empty()
        && if meta.global {
            regions.iter().any(|r| has_rule(&r))
        } else {
            regions.iter().all(|r| has_rule(&r))
        };
    let remedy = if only_unrecorded {
        "the rule is there but AWS Config does not evaluate it: change the recording as said (`cloudkestrel apply` never changes a recorder)"
    } else if cx.spec.add_if_missing {
        "AddIfMissing is set: run `cloudkestrel apply` to add it"
    } else {
        "add the managed rule in AWS Config, or set \"AddIfMissing\": true and run `cloudkestrel apply`"
    };
    let why = if regions.is_empty() {
        "AWS Config was not found in any collected region".to_string()
    } else if meta.global {
        format!(
            "not deployed with a recording recorder in any collected region ({})",
            gaps.join("; ")
        )
    } else {
        format!(
            "not deployed with a recording recorder in every collected region ({})",
            gaps.join("; ")
        )
    };
    let mut f = cx.finding(
        Check::Deployed,
        resource,
        name,
        Status::Fail,
        format!("{why}; {remedy}"),
    );
    f.details = gaps;
    f.in_state(if only_unrecorded {
        AccountState::NotRecorded
    } else {
        AccountState::NotDeployed
    })
}

/// (ARN, name) of the resource an AWS Config result is about.
fn resolve(cx: &Context<'_>, resource_type: &str, id: &str) -> (Arc<str>, Arc<str>) {
    let a = cx.account;
    let same = || {
        let id: Arc<str> = Arc::from(id);
        (id.clone(), id)
    };
    match resource_type {
        "AWS::IAM::User" => cx
            .index
            .users
            .get(id)
            .map(|&i| cx.index.user_names[i].clone())
            .unwrap_or_else(same),
        "AWS::IAM::Policy" => a
            .iam
            .policies
            .iter()
            .find(|p| p.policy_id.as_deref() == Some(id) || p.arn == id || p.name == id)
            .map(|p| (Arc::from(p.arn.as_str()), Arc::from(p.name.as_str())))
            .unwrap_or_else(same),
        "AWS::S3::Bucket" => (
            Arc::from(crate::model::bucket_arn(a.metadata.partition(), id)),
            Arc::from(id),
        ),
        "AWS::::Account" => (Arc::from(cx.account_arn()), Arc::from(id)),
        _ => same(),
    }
}

fn aws_config(cx: &Context<'_>) -> Vec<Finding> {
    let meta = cx.spec.rule.meta();
    if let Some(e) = cx.section_errors(
        Check::AwsConfig,
        &[Section::ConfigRules, Section::ConfigCompliance],
    ) {
        return vec![e];
    }
    // An IAM rule deployed in two regions reports each user twice: the worse verdict is
    // kept (below).
    let mut found: Vec<Finding> = Vec::new();
    let mut errors = Vec::new();
    for region in &cx.account.config.regions {
        for rule in deployed_rules(cx, region) {
            let problems: Vec<String> = cx
                .account
                .problems
                .iter()
                .filter(|p| {
                    p.section == Section::ConfigCompliance
                        && p.resource.as_deref() == Some(rule.name.as_str())
                        && p.region.as_deref().is_none_or(|r| r == region.region)
                })
                .map(|p| format!("{} failed ({}: {})", p.operation, p.error_code, p.message))
                .collect();
            if !problems.is_empty() {
                let mut f = cx.finding(
                    Check::AwsConfig,
                    rule.arn.clone().unwrap_or_else(|| rule.name.clone()),
                    rule.name.clone(),
                    Status::Error,
                    format!(
                        "could not read AWS Config's results for {} in {}: {}",
                        rule.name,
                        region.region,
                        problems.join("; ")
                    ),
                );
                f.details = problems;
                errors.push(f);
                continue;
            }
            for c in region
                .compliance
                .iter()
                .filter(|c| c.config_rule_name == rule.name)
            {
                let (arn, name) = resolve(cx, &c.resource_type, &c.resource_id);
                if meta.user_scoped && c.resource_type == "AWS::IAM::User" && cx.ignored(&name) {
                    found.push(cx.ignored_finding(Check::AwsConfig, &arn, &name));
                    continue;
                }
                let (status, what) = match c.compliance.as_str() {
                    "COMPLIANT" => (Status::Pass, "COMPLIANT"),
                    "NON_COMPLIANT" => (Status::Fail, "NON_COMPLIANT"),
                    "NOT_APPLICABLE" => (Status::Pass, "NOT_APPLICABLE (out of the rule's scope)"),
                    _ => (Status::Error, "an unexpected compliance value "),
                };
                // One string, written in place without `write!` (whose padded numbers
                // cost 2,000 instructions a message): this runs once per user per rule.
                let mut message = String::with_capacity(128);
                message.push_str("AWS Config rule ");
                message.push_str(&rule.name);
                message.push_str(" (");
                message.push_str(&region.region);
                if let Some(t) = c.recorded_at {
                    message.push_str(", recorded ");
                    push_minute(&mut message, t);
                    message.push_str(" UTC");
                }
                message.push_str(") says ");
                message.push_str(what);
                if status == Status::Error {
                    message.push_str(&format!("{:?}", c.compliance));
                }
                if let Some(a) = &c.annotation {
                    message.push_str(": ");
                    message.push_str(a);
                }
                let f = cx.finding(Check::AwsConfig, arn, name, status, message);
                found.push(if c.compliance == "NOT_APPLICABLE" {
                    f.noted()
                } else {
                    f
                });
            }
        }
    }
    // Worst first per resource (a stable sort keeps the earlier of equal verdicts), then
    // one per resource.
    found.sort_by(|a, b| (&a.resource, a.status).cmp(&(&b.resource, b.status)));
    found.dedup_by(|later, kept| later.resource == kept.resource);
    errors.extend(found);
    errors
}

/// Appends `YYYY-MM-DD HH:MM` (what chrono's `%Y-%m-%d %H:%M` writes for years 0 to
/// 9999; a test holds them equal).
fn push_minute(out: &mut String, t: chrono::DateTime<chrono::Utc>) {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&t.format("%Y-%m-%d %H:%M").to_string());
        return;
    }
    let put = |out: &mut String, n: u32, width: usize| {
        let mut buf = [b'0'; 4];
        let mut n = n;
        for b in buf[..width].iter_mut().rev() {
            *b = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend(buf[..width].iter().map(|&b| char::from(b)));
    };
    put(out, year as u32, 4);
    out.push('-');
    put(out, t.month(), 2);
    out.push('-');
    put(out, t.day(), 2);
    out.push(' ');
    put(out, t.hour(), 2);
    out.push(':');
    put(out, t.minute(), 2);
}

/// Whether `f` is the pass that [`Context::ignored_finding`] writes for a user listed in
/// IgnoreUsers: its exact message, not merely the words (an AWS Config annotation, which
/// the account controls, could contain them and hide a disagreement).
fn is_ignored_note(f: &Finding) -> bool {
    f.status == Status::Pass
        && f.note
        && f.message
            .strip_prefix(&*f.resource_name)
            .and_then(|m| m.strip_prefix(" is listed in IgnoreUsers for "))
            .and_then(|m| m.strip_prefix(f.rule))
            == Some(": not checked")
}

fn flag_disagreements(aws: &mut [Finding], local: &mut [Finding]) {
    // Most rules have no AWS Config results: no index of the local ones to build.
    if aws.is_empty() {
        return;
    }
    let mut local_by: HashMap<&str, usize> = HashMap::new();
    for (i, f) in local.iter().enumerate() {
        local_by.insert(&*f.resource, i);
    }
    let mut pairs = Vec::new();
    for (i, a) in aws.iter().enumerate() {
        if a.status == Status::Error || is_ignored_note(a) {
            continue;
        }
        if let Some(&j) = local_by.get(&*a.resource) {
            let l = &local[j];
            if l.status != Status::Error && !is_ignored_note(l) && l.status != a.status {
                pairs.push((i, j));
            }
        }
    }
    for (i, j) in pairs {
        let (a_status, l_status) = (aws[i].status.as_str(), local[j].status.as_str());
        aws[i].message.push_str(&format!(
            " — DISAGREEMENT: CloudKestrel's local check says {l_status} for this resource"
        ));
        local[j].message.push_str(&format!(
            " — DISAGREEMENT: AWS Config says {a_status} for this resource"
        ));
        aws[i].note = true;
        local[j].note = true;
    }
}

/// One `local` finding per IAM user, honouring IgnoreUsers.
pub fn per_user(cx: &Context<'_>, verdict: impl Fn(&User) -> (Status, String)) -> Vec<Finding> {
    cx.account
        .iam
        .users
        .iter()
        .zip(&cx.index.user_names)
        .map(|(u, (arn, name))| {
            if cx.ignored(&u.name) {
                return cx.ignored_finding(Check::Local, arn, name);
            }
            let (status, message) = verdict(u);
            cx.finding(Check::Local, arn.clone(), name.clone(), status, message)
        })
        .collect()
}

/// Like [`per_user`], for checks that read the user's credential report row. A user the
/// report does not list (created after it was generated) is an `error`, never a pass.
pub fn per_user_with_credentials(
    cx: &Context<'_>,
    verdict: impl Fn(&User, &CredentialReportRow) -> (Status, String),
) -> Vec<Finding> {
    per_user(cx, |u| {
        match cx.index.credential_rows.get(u.name.as_str()).copied() {
        Some(row) => verdict(u, row),
        None => (
            Status::Error,
            format!(
                "{} is not in the credential report (created after the report was generated?): cannot decide",
                u.name
            ),
        ),
    }
    })
}

#[cfg(test)]
mod tests {
    use super::{flag_disagreements, push_minute};
    use crate::rules::{Check, Finding, Status};
    use chrono::{TimeZone, Utc};

    fn finding(check: Check, status: Status, message: &str) -> Finding {
        Finding::new(
            "IAM_USER_MFA_ENABLED",
            check,
            "arn:aws:iam::123456789012:user/alice",
            "alice",
            status,
            crate::rules::Severity::High,
            message,
        )
    }

    /// Only CloudKestrel's own IgnoreUsers pass silences a disagreement: an AWS Config
    /// annotation (written by the account) with the same words does not.
    #[test]
    fn an_annotation_cannot_hide_a_disagreement() {
        let mut aws = [finding(
            Check::AwsConfig,
            Status::Pass,
            "AWS Config rule r (us-east-1) says COMPLIANT: alice is listed in IgnoreUsers for IAM_USER_MFA_ENABLED: not checked",
        )];
        let mut local = [finding(
            Check::Local,
            Status::Fail,
            "alice has no MFA device",
        )];
        flag_disagreements(&mut aws, &mut local);
        assert!(
            aws[0].message.contains("DISAGREEMENT"),
            "{}",
            aws[0].message
        );
        assert!(local[0].note && local[0].message.contains("DISAGREEMENT"));

        let mut ignored = [finding(
            Check::AwsConfig,
            Status::Pass,
            "alice is listed in IgnoreUsers for IAM_USER_MFA_ENABLED: not checked",
        )
        .noted()];
        let mut local = [finding(
            Check::Local,
            Status::Fail,
            "alice has no MFA device",
        )];
        flag_disagreements(&mut ignored, &mut local);
        assert!(!local[0].message.contains("DISAGREEMENT"));
    }

    #[test]
    fn push_minute_writes_what_chrono_writes() {
        let mut times: Vec<chrono::DateTime<Utc>> = [
            (2026, 11, 27, 8, 5, 9),
            (1, 1, 1, 0, 0, 0),
            (999, 12, 31, 23, 59, 59),
            (9999, 12, 31, 23, 59, 59),
            (10000, 1, 1, 0, 0, 0),
            (-1, 6, 15, 12, 30, 0),
        ]
        .iter()
        .map(|&(y, mo, d, h, mi, s)| Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap())
        .collect();
        times.extend((0..2000).map(|i| Utc.timestamp_opt(i * 7_919_993 + 12_345, 0).unwrap()));
        for t in times {
            let mut fast = String::new();
            push_minute(&mut fast, t);
            assert_eq!(fast, t.format("%Y-%m-%d %H:%M").to_string(), "{t:?}");
        }
    }
}
