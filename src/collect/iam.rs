//! IAM and STS: a constant number of requests whatever the number of users.
//! GetAccountAuthorizationDetails (paginated) gives users, groups, roles and customer
//! managed policies with every version; the credential report gives every user's
//! password, MFA and access-key state in one CSV.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_iam::types::{EntityType, ReportStateType};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::aws::{code_of, malformed, problem, required, to_chrono, PageTrail};
use crate::model::*;
use crate::policy::parse_document;

/// (account id, caller ARN) from STS.
pub async fn collect_identity(sts: &aws_sdk_sts::Client) -> Result<(String, String), Problem> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| problem(Section::Identity, "sts:GetCallerIdentity", &e))?;
    match (out.account(), out.arn()) {
        (Some(a), Some(arn)) if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => {
            Ok((a.to_string(), arn.to_string()))
        }
        (Some(a), Some(_)) => Err(malformed(
            Section::Identity,
            "sts:GetCallerIdentity",
            format!("the account id {a:?} is not 12 digits"),
        )),
        _ => Err(malformed(
            Section::Identity,
            "sts:GetCallerIdentity",
            "no Account or Arn in the answer",
        )),
    }
}

fn date(
    t: Option<&aws_smithy_types::DateTime>,
    op: &str,
    what: &str,
) -> Result<DateTime<Utc>, Problem> {
    t.and_then(to_chrono).ok_or_else(|| {
        malformed(
            Section::IamAuthorization,
            op,
            format!("{what}: no creation date"),
        )
    })
}

/// Users, groups, roles and customer managed policies, in as few pages as IAM allows.
///
/// A policy document IAM returned but that cannot be read as one (not URL-encoded
/// UTF-8, not JSON, a key written twice) is a problem of what it belongs to, scoped to
/// that ARN (the managed policy, or the user, group or role of an inline or trust
/// policy), and is kept as `null`: the checks that analyse it report `error`, and the
/// rest of IAM is still audited. A document missing from the answer is a malformed
/// answer of the whole section. The scoped problems come back beside the data.
pub async fn collect_authorization_details(
    iam: &aws_sdk_iam::Client,
) -> Result<(Iam, Vec<Problem>), Problem> {
    const OP: &str = "iam:GetAccountAuthorizationDetails";
    let mut pages = iam
        .get_account_authorization_details()
        .filter(EntityType::User)
        .filter(EntityType::Group)
        .filter(EntityType::Role)
        .filter(EntityType::LocalManagedPolicy)
        .max_items(1000)
        .into_paginator()
        .send();
    let mut out = Iam::default();
    let need = |value: Option<&str>, what: &dyn Fn() -> String| {
        required(value, Section::IamAuthorization, OP, what).map(str::to_string)
    };
    let count = |n: Option<i32>, policy: &str| -> Result<i64, Problem> {
        match n.unwrap_or_default() {
            n if n >= 0 => Ok(i64::from(n)),
            n => Err(malformed(
                Section::IamAuthorization,
                OP,
                format!("policy {policy}: a count of {n}"),
            )),
        }
    };
    let unreadable = std::cell::RefCell::new(Vec::new());
    let document = |text: Option<&str>, what: &str, owner_arn: &str| -> Result<Value, Problem> {
        let text = text.ok_or_else(|| {
            malformed(
                Section::IamAuthorization,
                OP,
                format!("{what}: no policy document"),
            )
        })?;
        Ok(parse_document(text).unwrap_or_else(|e| {
            unreadable.borrow_mut().push(Problem {
                section: Section::IamAuthorization,
                operation: OP.to_string(),
                error_code: "InvalidPolicyDocument".to_string(),
                message: format!("{what}: {e}"),
                region: None,
                resource: Some(owner_arn.to_string()),
            });
            Value::Null
        }))
    };
    let inline = |list: &[aws_sdk_iam::types::PolicyDetail],
                  owner: &str,
                  owner_arn: &str|
     -> Result<Vec<InlinePolicy>, Problem> {
        list.iter()
            .map(|p| {
                let name = need(p.policy_name(), &|| {
                    format!("the name of an inline policy of {owner}")
                })?;
                Ok(InlinePolicy {
                    document: document(
                        p.policy_document(),
                        &format!("inline policy {name} of {owner}"),
                        owner_arn,
                    )?,
                    name,
                })
            })
            .collect()
    };
    // An attachment without its ARN is an error: dropping it could make a user look
    // as if no policy were attached.
    let arns = |list: &[aws_sdk_iam::types::AttachedPolicy],
                owner: &str|
     -> Result<Vec<String>, Problem> {
        list.iter()
            .map(|a| {
                need(a.policy_arn(), &|| {
                    format!("the ARN of a policy attached to {owner}")
                })
            })
            .collect()
    };
    // Every page is checked: an error on page 3 is a problem, not a shorter list, and
    // the list must end where IAM says it ends. (That every page holds its four lists
    // is checked with the answer's body: `answers::AnswerCheck`.)
    let mut trail = PageTrail::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| problem(Section::IamAuthorization, OP, &e))?;
        trail
            .truncated(page.is_truncated(), page.marker())
            .map_err(|e| malformed(Section::IamAuthorization, OP, e))?;
        for u in page.user_detail_list() {
            let name = need(u.user_name(), &|| "a user's name".into())?;
            let arn = need(u.arn(), &|| format!("the ARN of user {name}"))?;
            out.users.push(User {
                user_id: need(u.user_id(), &|| format!("the id of user {name}"))?,
                path: u.path().unwrap_or("/").to_string(),
                created: date(u.create_date(), OP, &format!("user {name}"))?,
                groups: u.group_list().to_vec(),
                attached_policies: arns(u.attached_managed_policies(), &name)?,
                inline_policies: inline(u.user_policy_list(), &name, &arn)?,
                permissions_boundary: u
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                arn,
                name,
            });
        }
        for g in page.group_detail_list() {
            let name = need(g.group_name(), &|| "a group's name".into())?;
            let arn = need(g.arn(), &|| format!("the ARN of group {name}"))?;
            out.groups.push(Group {
                path: g.path().unwrap_or("/").to_string(),
                attached_policies: arns(g.attached_managed_policies(), &name)?,
                inline_policies: inline(g.group_policy_list(), &name, &arn)?,
                arn,
                name,
            });
        }
        for r in page.role_detail_list() {
            let name = need(r.role_name(), &|| "a role's name".into())?;
            let arn = need(r.arn(), &|| format!("the ARN of role {name}"))?;
            out.roles.push(Role {
                path: r.path().unwrap_or("/").to_string(),
                attached_policies: arns(r.attached_managed_policies(), &name)?,
                inline_policies: inline(r.role_policy_list(), &name, &arn)?,
                trust_policy: r
                    .assume_role_policy_document()
                    .map(|d| document(Some(d), &format!("trust policy of role {name}"), &arn))
                    .transpose()?,
                permissions_boundary: r
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                arn,
                name,
            });
        }
        for p in page.policies() {
            let arn = need(p.arn(), &|| "a managed policy's ARN".into())?;
            // moto leaves PolicyName out; the ARN's last segment is the name.
            let name = p
                .policy_name()
                .map(str::to_string)
                .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_string());
            if p.policy_version_list.is_none() {
                return Err(malformed(
                    Section::IamAuthorization,
                    OP,
                    format!("policy {name}: no PolicyVersionList, which IAM always returns"),
                ));
            }
            let versions = p
                .policy_version_list()
                .iter()
                .map(|v| {
                    let id = need(v.version_id(), &|| format!("a version id of policy {name}"))?;
                    Ok(PolicyVersion {
                        created: v.create_date().and_then(to_chrono),
                        document: document(
                            v.document(),
                            &format!("policy {name} version {id}"),
                            &arn,
                        )?,
                        version_id: id,
                    })
                })
                .collect::<Result<Vec<_>, Problem>>()?;
            let default_version_id = p
                .default_version_id()
                .map(str::to_string)
                .or_else(|| {
                    p.policy_version_list()
                        .iter()
                        .find(|v| v.is_default_version())
                        .and_then(|v| v.version_id().map(str::to_string))
                })
                .filter(|id| versions.iter().any(|v| v.version_id == *id))
                .ok_or_else(|| {
                    malformed(
                        Section::IamAuthorization,
                        OP,
                        format!("policy {name}: its default version is not among its versions"),
                    )
                })?;
            out.policies.push(ManagedPolicy {
                policy_id: p.policy_id().map(str::to_string),
                path: p.path().unwrap_or("/").to_string(),
                default_version_id,
                // Counts IAM gives as 32-bit numbers: a negative one is malformed.
                attachment_count: count(p.attachment_count(), &name)?,
                permissions_boundary_usage_count: count(
                    p.permissions_boundary_usage_count(),
                    &name,
                )?,
                versions,
                name,
                arn,
            });
        }
    }
    Ok((out, unreadable.into_inner()))
}

/// Asks IAM for a fresh credential report and waits for it, with a bounded backoff:
/// IAM generates it asynchronously (at most every 4 hours a new one).
pub async fn collect_credential_report(
    iam: &aws_sdk_iam::Client,
) -> Result<Vec<CredentialReportRow>, Problem> {
    const GEN: &str = "iam:GenerateCredentialReport";
    const GET: &str = "iam:GetCredentialReport";
    let mut delay = Duration::from_millis(200);
    let mut waited = Duration::ZERO;
    loop {
        let out = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| problem(Section::IamCredentialReport, GEN, &e))?;
        match out.state() {
            Some(ReportStateType::Complete) => break,
            Some(ReportStateType::Started | ReportStateType::Inprogress) => {}
            other => {
                return Err(malformed(
                    Section::IamCredentialReport,
                    GEN,
                    match other {
                        None => "the answer has no State".to_string(),
                        Some(s) => format!("the report state {:?} is none of IAM's", s.as_str()),
                    },
                ))
            }
        }
        if waited >= Duration::from_secs(60) {
            return Err(Problem {
                error_code: "ReportNotReady".into(),
                ..malformed(
                    Section::IamCredentialReport,
                    GEN,
                    "the credential report was not ready after 60 s",
                )
            });
        }
        tokio::time::sleep(delay).await;
        waited += delay;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    let out = iam
        .get_credential_report()
        .send()
        .await
        .map_err(|e| problem(Section::IamCredentialReport, GET, &e))?;
    let content = out.content().ok_or_else(|| {
        malformed(
            Section::IamCredentialReport,
            GET,
            "the answer has no report content",
        )
    })?;
    if out.report_format() != Some(&aws_sdk_iam::types::ReportFormatType::TextCsv)
        || out.generated_time().is_none()
    {
        return Err(malformed(
            Section::IamCredentialReport,
            GET,
            format!(
                "the answer's ReportFormat is {:?} (not text/csv) or it has no GeneratedTime",
                out.report_format().map(|f| f.as_str())
            ),
        ));
    }
    parse_credential_report(content.as_ref())
        .map_err(|e| malformed(Section::IamCredentialReport, GET, e))
}

fn report_date(v: &str) -> Result<Option<DateTime<Utc>>, String> {
    match v {
        "" | "N/A" | "no_information" | "not_supported" => Ok(None),
        _ => DateTime::parse_from_rfc3339(v)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|e| format!("{v:?} is not a date: {e}")),
    }
}

/// Parses the credential report CSV (22 standard columns, by header name).
pub fn parse_credential_report(csv_bytes: &[u8]) -> Result<Vec<CredentialReportRow>, String> {
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("credential report: {e}"))?
        .clone();
    let idx = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("credential report: no column {name}"))
    };
    let cols = [
        "user",
        "arn",
        "user_creation_time",
        "password_enabled",
        "password_last_used",
        "password_last_changed",
        "mfa_active",
        "access_key_1_active",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
        "access_key_2_active",
        "access_key_2_last_rotated",
        "access_key_2_last_used_date",
    ];
    let pos: BTreeMap<&str, usize> = cols
        .iter()
        .map(|c| Ok((*c, idx(c)?)))
        .collect::<Result<_, String>>()?;
    let mut rows = Vec::new();
    for (line, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("credential report line {}: {e}", line + 2))?;
        let get = |c: &str| rec.get(pos[c]).unwrap_or_default();
        let at = |c: &str| {
            report_date(get(c))
                .map_err(|e| format!("credential report line {}, {c}: {e}", line + 2))
        };
        // Anything but IAM's own words is an error, not "false": a misread flag could
        // make a console user or an active key disappear.
        let flag = |c: &str| match get(c) {
            "true" => Ok(true),
            "false" | "not_supported" => Ok(false),
            other => Err(format!(
                "credential report line {}, {c}: {other:?} is not true, false or not_supported",
                line + 2
            )),
        };
        let slot = |n: u8| -> Result<Option<AccessKeySlot>, String> {
            let active = flag(&format!("access_key_{n}_active"))?;
            Ok(
                at(&format!("access_key_{n}_last_rotated"))?.map(|last_rotated| AccessKeySlot {
                    active,
                    last_rotated,
                    last_used: None,
                }),
            )
        };
        let with_used = |n: u8| -> Result<Option<AccessKeySlot>, String> {
            let used = at(&format!("access_key_{n}_last_used_date"))?;
            Ok(slot(n)?.map(|s| AccessKeySlot {
                last_used: used,
                ..s
            }))
        };
        let user = get("user").to_string();
        rows.push(CredentialReportRow {
            arn: get("arn").to_string(),
            user_creation_time: at("user_creation_time")?.ok_or_else(|| {
                format!("credential report line {}: no user_creation_time", line + 2)
            })?,
            password_enabled: flag("password_enabled")?,
            password_last_used: at("password_last_used")?,
            password_last_changed: at("password_last_changed")?,
            mfa_active: flag("mfa_active")?,
            access_key_1: with_used(1)?,
            access_key_2: with_used(2)?,
            user,
        });
    }
    Ok(rows)
}

pub async fn collect_account_summary(
    iam: &aws_sdk_iam::Client,
) -> Result<BTreeMap<String, i64>, Problem> {
    const OP: &str = "iam:GetAccountSummary";
    let out = iam
        .get_account_summary()
        .send()
        .await
        .map_err(|e| problem(Section::IamAccountSummary, OP, &e))?;
    let map: BTreeMap<String, i64> = out
        .summary_map()
        .ok_or_else(|| {
            malformed(
                Section::IamAccountSummary,
                OP,
                "the answer has no SummaryMap",
            )
        })?
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), i64::from(*v)))
        .collect();
    if let Some((k, v)) = map.iter().find(|(_, v)| **v < 0) {
        return Err(malformed(
            Section::IamAccountSummary,
            OP,
            format!("the SummaryMap gives {k} = {v}, a count below 0"),
        ));
    }
    // The keys the root rules read, in every answer IAM gives.
    for key in ["AccountMFAEnabled", "AccountAccessKeysPresent"] {
        if !map.contains_key(key) {
            return Err(malformed(
                Section::IamAccountSummary,
                OP,
                format!("the SummaryMap has no {key}, which IAM always returns"),
            ));
        }
    }
    Ok(map)
}

/// The password policy; `None` when the account has none (NoSuchEntity is data).
pub async fn collect_password_policy(iam: &aws_sdk_iam::Client) -> Result<Option<Value>, Problem> {
    const OP: &str = "iam:GetAccountPasswordPolicy";
    match iam.get_account_password_policy().send().await {
        // A 200 always holds the policy (no policy is the NoSuchEntity error), and its
        // minimum length is the one member IAM always sends that the SDK does not
        // default when it is missing.
        Ok(out) => match out
            .password_policy()
            .filter(|p| p.minimum_password_length().is_some())
        {
            None => Err(malformed(
                Section::IamPasswordPolicy,
                OP,
                "the answer has no PasswordPolicy with a MinimumPasswordLength",
            )),
            Some(p) => Ok(Some(serde_json::json!({
                "MinimumPasswordLength": p.minimum_password_length(),
                "RequireSymbols": p.require_symbols(),
                "RequireNumbers": p.require_numbers(),
                "RequireUppercaseCharacters": p.require_uppercase_characters(),
                "RequireLowercaseCharacters": p.require_lowercase_characters(),
                "AllowUsersToChangePassword": p.allow_users_to_change_password(),
                "ExpirePasswords": p.expire_passwords(),
                "MaxPasswordAge": p.max_password_age(),
                "PasswordReusePrevention": p.password_reuse_prevention(),
                "HardExpiry": p.hard_expiry(),
            }))),
        },
        Err(e)
            if code_of(&e) == Some("NoSuchEntity")
                || e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(problem(Section::IamPasswordPolicy, OP, &e)),
    }
}

pub async fn collect_virtual_mfa(
    iam: &aws_sdk_iam::Client,
) -> Result<Vec<VirtualMfaDevice>, Problem> {
    const OP: &str = "iam:ListVirtualMFADevices";
    // 1,000 per page (IAM's maximum): one request for up to 1,000 MFA devices.
    let mut pages = iam
        .list_virtual_mfa_devices()
        .max_items(1000)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    let mut trail = PageTrail::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| problem(Section::IamVirtualMfa, OP, &e))?;
        trail
            .truncated(page.is_truncated(), page.marker())
            .map_err(|e| malformed(Section::IamVirtualMfa, OP, e))?;
        for d in page.virtual_mfa_devices() {
            // The SDK fills in "" for these required members when they are missing.
            if d.serial_number().is_empty() || d.user().is_some_and(|u| u.arn().is_empty()) {
                return Err(malformed(
                    Section::IamVirtualMfa,
                    OP,
                    "a device without its SerialNumber, or assigned to a user without an Arn",
                ));
            }
            out.push(VirtualMfaDevice {
                serial_number: d.serial_number().to_string(),
                user_arn: d.user().map(|u| u.arn().to_string()),
                enabled_at: d.enable_date().and_then(to_chrono),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    #[test]
    fn parses_root_and_users() {
        let csv = format!(
            "{HEADER}\n\
<root_account>,arn:aws:iam::111122223333:root,2019-05-01T00:00:00+00:00,not_supported,2026-06-01T12:00:00+00:00,not_supported,not_supported,true,false,2019-05-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
bob,arn:aws:iam::111122223333:user/bob,2025-01-01T00:00:00+00:00,true,no_information,2025-01-01T00:00:00+00:00,N/A,false,true,2025-01-02T00:00:00+00:00,2026-11-01T10:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let rows = parse_credential_report(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        let root = &rows[0];
        assert!(root.is_root() && root.mfa_active && !root.password_enabled);
        let k = root.access_key_1.as_ref().unwrap();
        assert!(!k.active && k.last_used.is_none());
        assert!(root.access_key_2.is_none());
        let bob = &rows[1];
        assert!(bob.password_enabled && bob.password_last_used.is_none());
        assert!(bob.access_key_1.as_ref().unwrap().last_used.is_some());
    }

    #[test]
    fn malformed_reports_are_errors() {
        assert!(parse_credential_report(b"user,arn\nbob,x\n").is_err());
        let bad_date = format!("{HEADER}\nbob,arn,yesterday,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n");
        assert!(parse_credential_report(bad_date.as_bytes()).is_err());
        // A flag IAM would never write is an error, not "false".
        let bad_flag = format!("{HEADER}\nbob,arn,2025-01-01T00:00:00+00:00,TRUE,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n");
        let e = parse_credential_report(bad_flag.as_bytes()).unwrap_err();
        assert!(e.contains("password_enabled"), "{e}");
        // A row cut short is an error, not missing (false) fields.
        let short = format!("{HEADER}\nbob,arn,2025-01-01T00:00:00+00:00,true,N/A,N/A,N/A\n");
        assert!(parse_credential_report(short.as_bytes()).is_err());
    }
}
