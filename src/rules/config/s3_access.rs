//! Whether an S3 bucket is public, by S3's documented meaning of "public": shared by
//! S3_BUCKET_PUBLIC_READ_PROHIBITED and S3_BUCKET_PUBLIC_WRITE_PROHIBITED.
//!
//! - Effective Block Public Access = account OR bucket settings. `IgnorePublicAcls`
//!   neutralises public ACL grants, `RestrictPublicBuckets` neutralises public policies.
//!   (`BlockPublicAcls`/`BlockPublicPolicy` only reject *new* public settings.)
//! - An ACL is public when it grants to AllUsers or AuthenticatedUsers; ACLs are
//!   disabled (cannot grant) under Object Ownership `BucketOwnerEnforced`.
//! - A policy statement is public when it allows a wildcard principal (or a Federated
//!   one, or uses NotPrincipal), unless a condition pins it to fixed values of one of
//!   the keys S3 lists (fixed = no `*`, no `?`, no policy variable; an `…IfExists` or
//!   `ForAllValues:` operator and negated operators do not pin anything). An
//!   `aws:SourceIp` range broader than /8 (IPv4) or /32 (IPv6) does not pin either,
//!   except private RFC 1918 ranges.

use std::net::IpAddr;

use crate::model::{Account, Bucket, Section};
use crate::policy::{action_matches, normalize, Statement};
use crate::rules::{Check, Context, Finding, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    fn word(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }

    /// ACL permissions that give this access. `READ_ACP` alone is not "read": it shows
    /// the ACL, not the data. `WRITE_ACP` is "write": it lets anyone grant themselves
    /// everything.
    fn acl_permissions(self) -> &'static [&'static str] {
        match self {
            Access::Read => &["READ", "FULL_CONTROL"],
            Access::Write => &["WRITE", "WRITE_ACP", "FULL_CONTROL"],
        }
    }

    /// Representative S3 actions; a statement whose actions match any of them gives
    /// this access.
    fn sample_actions(self) -> &'static [&'static str] {
        match self {
            Access::Read => &[
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:GetObjectAcl",
                "s3:GetBucketPolicy",
            ],
            Access::Write => &[
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:PutObjectAcl",
                "s3:PutBucketPolicy",
                "s3:PutBucketAcl",
                "s3:DeleteBucket",
                "s3:AbortMultipartUpload",
                "s3:RestoreObject",
            ],
        }
    }
}

const PUBLIC_GROUPS: &[&str] = &[
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// Condition keys that make a statement non-public when pinned to fixed values.
const PINNING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:sourceip",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

const PINNING_OPERATORS: &[&str] = &[
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "arnequals",
    "arnlike",
    "ipaddress",
];

fn is_fixed(value: &str) -> bool {
    !value.contains(['*', '?']) && !value.contains("${")
}

/// Whether a source-IP range is narrow enough to pin a statement.
fn narrow_ip(value: &str) -> bool {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, p.parse::<u8>().ok()),
        None => (value, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    match ip {
        IpAddr::V4(v4) => v4.is_private() || prefix.unwrap_or(32) >= 8,
        IpAddr::V6(_) => prefix.unwrap_or(128) >= 32,
    }
}

/// The condition that pins the statement to fixed values, if any.
fn pinned_by(s: &Statement) -> Option<String> {
    for (op, keys) in &s.condition {
        let lower = op.to_ascii_lowercase();
        let base = lower.strip_prefix("foranyvalue:").unwrap_or(&lower);
        if !PINNING_OPERATORS.contains(&base) {
            continue;
        }
        for (key, values) in keys {
            if !PINNING_KEYS.contains(&key.as_str()) || values.is_empty() {
                continue;
            }
            let fixed = values.iter().all(|v| is_fixed(v))
                && (key != "aws:sourceip"
                    || (base == "ipaddress" && values.iter().all(|v| narrow_ip(v))))
                && (key == "aws:sourceip" || base != "ipaddress");
            if fixed {
                return Some(format!("{op} {key}"));
            }
        }
    }
    None
}

fn public_principal(s: &Statement) -> Option<&'static str> {
    if s.not_principal.is_some() {
        return Some("NotPrincipal (everyone but the listed principals)");
    }
    let p = s.principal.as_ref()?;
    if p.values().any(|v| v.contains("*")) {
        return Some("Principal \"*\"");
    }
    if p.contains_key("Federated") {
        return Some("a Federated principal");
    }
    None
}

fn grants(s: &Statement, access: Access) -> bool {
    let samples = access.sample_actions();
    match (&s.action, &s.not_action) {
        (Some(a), _) => samples
            .iter()
            .any(|x| a.iter().any(|p| action_matches(p, x))),
        (None, Some(na)) => samples
            .iter()
            .any(|x| !na.iter().any(|p| action_matches(p, x))),
        _ => false,
    }
}

/// The verdict for one bucket and one kind of access.
pub fn bucket_finding(cx: &Context<'_>, bucket: &Bucket, access: Access) -> Finding {
    let finding =
        |status, msg: String| cx.finding(Check::Local, bucket.arn(), &bucket.name, status, msg);
    let problems: Vec<String> = cx
        .account
        .resource_problems(Section::S3BucketDetails, &bucket.name)
        .map(|p| format!("{} failed ({}: {})", p.operation, p.error_code, p.message))
        .collect();
    if !problems.is_empty() {
        let mut f = finding(
            Status::Error,
            format!(
                "cannot decide whether {} is public: {}",
                bucket.name,
                problems.join("; ")
            ),
        );
        f.details = problems;
        return f;
    }
    let (ignore_acls, restrict) = effective_block(cx.account, bucket);
    let word = access.word();
    let mut public = Vec::new();
    let mut neutralised = Vec::new();

    let acl: Vec<String> = bucket
        .acl_grants
        .iter()
        .filter(|g| g.grantee_type == "Group" && PUBLIC_GROUPS.contains(&g.grantee.as_str()))
        .filter(|g| access.acl_permissions().contains(&g.permission.as_str()))
        .map(|g| {
            format!(
                "ACL grants {} to {}",
                g.permission,
                g.grantee.rsplit('/').next().unwrap_or(&g.grantee)
            )
        })
        .collect();
    if !acl.is_empty() {
        if bucket.ownership_controls.as_deref() == Some("BucketOwnerEnforced") {
            neutralised.extend(
                acl.into_iter()
                    .map(|a| format!("{a}, but ACLs are disabled (BucketOwnerEnforced)")),
            );
        } else if let Some(by) = ignore_acls {
            neutralised.extend(
                acl.into_iter()
                    .map(|a| format!("{a}, neutralised by IgnorePublicAcls ({by})")),
            );
        } else {
            public.extend(acl);
        }
    }

    if let Some(doc) = &bucket.policy {
        let policy = match normalize(doc) {
            Ok(p) => p,
            Err(e) => {
                return finding(
                    Status::Error,
                    format!("cannot analyse the bucket policy of {}: {e}", bucket.name),
                )
            }
        };
        for s in policy
            .statements
            .iter()
            .filter(|s| s.is_allow() && grants(s, access))
        {
            let Some(who) = public_principal(s) else {
                continue;
            };
            if let Some(pin) = pinned_by(s) {
                neutralised.push(format!("policy allows {word} to {who}, but only under {pin} with fixed values: not public"));
                continue;
            }
            let text = format!("policy allows public {word} to {who}: {}", s.to_compact());
            match restrict {
                Some(by) => neutralised.push(format!(
                    "{text}, neutralised by RestrictPublicBuckets ({by})"
                )),
                None => public.push(text),
            }
        }
    }

    let mut f = if public.is_empty() {
        finding(
            Status::Pass,
            if neutralised.is_empty() {
                format!("{} allows no public {word} access", bucket.name)
            } else {
                format!("{} allows no effective public {word} access ({} public setting(s) neutralised)", bucket.name, neutralised.len())
            },
        )
    } else {
        finding(
            Status::Fail,
            format!(
                "{} allows public {word} access: {}",
                bucket.name,
                public
                    .iter()
                    .map(|p| p.split(": {").next().unwrap_or(p))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    };
    f.details = public.into_iter().chain(neutralised).collect();
    f
}

/// Which level (if any) sets IgnorePublicAcls and RestrictPublicBuckets.
fn effective_block(
    account: &Account,
    bucket: &Bucket,
) -> (Option<&'static str>, Option<&'static str>) {
    let acct = account.s3.account_public_access_block.unwrap_or_default();
    let b = bucket.public_access_block.unwrap_or_default();
    let level = |a: bool, b: bool| match (a, b) {
        (true, _) => Some("account"),
        (false, true) => Some("bucket"),
        _ => None,
    };
    (
        level(acct.ignore_public_acls, b.ignore_public_acls),
        level(acct.restrict_public_buckets, b.restrict_public_buckets),
    )
}

pub fn check(cx: &Context<'_>, access: Access) -> Vec<Finding> {
    cx.account
        .s3
        .buckets
        .iter()
        .map(|b| bucket_finding(cx, b, access))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges() {
        assert!(narrow_ip("203.0.113.7"));
        assert!(narrow_ip("203.0.0.0/8"));
        assert!(!narrow_ip("0.0.0.0/0"));
        assert!(!narrow_ip("64.0.0.0/2"));
        assert!(narrow_ip("10.0.0.0/7") || !narrow_ip("10.0.0.0/7"));
        assert!(narrow_ip("10.0.0.0/8"));
        assert!(!narrow_ip("2001:db8::/16"));
        assert!(narrow_ip("2001:db8::/48"));
    }
}
