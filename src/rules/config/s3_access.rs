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
use crate::policy::{normalize, Statement};
use crate::rules::{cat, Check, Context, Finding, Status};

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

    /// The families of S3 actions that give this access, as lower-case name prefixes
    /// (the S3 API's list of actions that could expose data publicly).
    fn action_families(self) -> &'static [&'static str] {
        match self {
            Access::Read => &["s3:get", "s3:list"],
            Access::Write => &[
                "s3:put",
                "s3:delete",
                "s3:abortmultipartupload",
                "s3:restoreobject",
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

/// Whether an `s3:DataAccessPointArn` value pins a statement: S3 counts it as fixed
/// when the account is, even with a wildcard in the access point's name
/// (`arn:aws:s3:us-east-1:111122223333:accesspoint/*`). Everything before the name,
/// the region included, must be fixed and the account twelve digits; a policy variable
/// anywhere does not pin.
fn is_fixed_access_point(value: &str) -> bool {
    let Some((head, name)) = value.split_once(":accesspoint/") else {
        return is_fixed(value);
    };
    let parts: Vec<&str> = head.split(':').collect();
    matches!(parts.as_slice(), ["arn", partition, "s3", region, account]
        if !partition.is_empty()
            && !region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit()))
        && is_fixed(head)
        && !name.is_empty()
        && !name.contains("${")
}

/// Whether a source-IP range is narrow enough to pin a statement: /8 or narrower for
/// IPv4, /32 or narrower for IPv6, measured on the range itself (`10.0.0.0/1` is broad,
/// whatever its first address). Every RFC 1918 range is /8 or narrower, so private
/// ranges always pin.
fn narrow_ip(value: &str) -> bool {
    let net = match value.parse::<ipnet::IpNet>() {
        Ok(n) => n,
        Err(_) => match value.parse::<IpAddr>() {
            Ok(ip) => ipnet::IpNet::from(ip),
            Err(_) => return false,
        },
    };
    match net {
        ipnet::IpNet::V4(n) => n.prefix_len() >= 8,
        ipnet::IpNet::V6(n) => n.prefix_len() >= 32,
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
            let fixed_value = |v: &str| {
                if key == "s3:dataaccesspointarn" {
                    is_fixed_access_point(v)
                } else {
                    is_fixed(v)
                }
            };
            let fixed = values.iter().all(|v| fixed_value(v))
                && (key != "aws:sourceip"
                    || (base == "ipaddress" && values.iter().all(|v| narrow_ip(v))))
                && (key == "aws:sourceip" || base != "ipaddress");
            if fixed {
                // The key as the document writes it (`aws:SourceVpc`).
                return Some(format!("{op} {}", s.written.condition_key_name(op, key)));
            }
        }
    }
    None
}

/// Who a public statement allows, quoted as written (`"Principal": "*"`).
fn public_principal(s: &Statement) -> Option<String> {
    let w = &s.written;
    if s.not_principal.is_some() {
        return Some(format!(
            "{} (everyone but the listed principals)",
            w.element_or_none("NotPrincipal")
        ));
    }
    let p = s.principal.as_ref()?;
    if p.values().any(|v| v.contains("*")) {
        return Some(w.element_or_none("Principal"));
    }
    if p.contains_key("Federated") {
        return Some(format!(
            "a Federated principal ({})",
            w.element_or_none("Principal")
        ));
    }
    None
}

/// Whether an action pattern (`*`/`?` wildcards) can match some action whose name
/// starts with `prefix`: the pattern is matched against the prefix, and whatever of the
/// pattern is left can always be satisfied by the rest of some action name.
fn may_match_prefix(pattern: &str, prefix: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), prefix.as_bytes());
    // reach[j]: some way of matching a part of the pattern consumes exactly s[..j].
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    for &c in p {
        if reach[s.len()] {
            return true;
        }
        let mut next = vec![false; s.len() + 1];
        for j in 0..=s.len() {
            if !reach[j] {
                continue;
            }
            if c == b'*' {
                // `*` takes any number of characters of what is left of the prefix.
                next[j..].iter_mut().for_each(|x| *x = true);
                break;
            }
            if j < s.len() && (c == b'?' || c == s[j]) {
                next[j + 1] = true;
            }
        }
        reach = next;
    }
    reach[s.len()]
}

/// Whether a NotAction pattern excludes every action of a family: `*`, or a literal
/// prefix of the family followed by `*` (`s3:*`, `s3:Get*`).
fn excludes_family(pattern: &str, family: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(head) => !head.contains(['*', '?']) && family.starts_with(head),
        None => false,
    }
}

/// Whether the statement's actions give `access` (actions are already lower-case).
fn grants(s: &Statement, access: Access) -> bool {
    let families = access.action_families();
    match (&s.action, &s.not_action) {
        (Some(a), _) => families
            .iter()
            .any(|f| a.iter().any(|p| may_match_prefix(p, f))),
        (None, Some(na)) => families
            .iter()
            .any(|f| !na.iter().any(|p| excludes_family(p, f))),
        _ => false,
    }
}

/// The verdict for one bucket and one kind of access.
pub fn bucket_finding(cx: &Context<'_>, bucket: &Bucket, access: Access) -> Finding {
    let arn = bucket.arn(cx.account.metadata.partition());
    let finding = |status, msg: String| {
        cx.finding(
            Check::Local,
            arn.as_str(),
            bucket.name.as_str(),
            status,
            msg,
        )
    };
    if let Some(e) = cx.resource_error(
        Check::Local,
        Section::S3BucketDetails,
        &bucket.name,
        (&arn, &bucket.name),
        &format!("whether {} is public", bucket.name),
    ) {
        return e;
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
            public.extend(acl.into_iter().map(|a| (a.clone(), a)));
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
            let label = s.written.label();
            if let Some(pin) = pinned_by(s) {
                neutralised.push(format!("policy allows {word} to {who} in {label}, but only under {pin} with fixed values: not public"));
                continue;
            }
            let short = format!("policy allows public {word} to {who} in {label}");
            let text = format!("{short}: {}", s.written.quote());
            match restrict {
                Some(by) => neutralised.push(format!(
                    "{text}, neutralised by RestrictPublicBuckets ({by})"
                )),
                None => public.push((short, text)),
            }
        }
    }

    let mut f = if public.is_empty() {
        finding(
            Status::Pass,
            if neutralised.is_empty() {
                cat!(bucket.name, " allows no public ", word, " access")
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
                    .map(|(short, _)| short.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    };
    f.details = public
        .into_iter()
        .map(|(_, detail)| detail)
        .chain(neutralised)
        .collect();
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
    fn action_families() {
        assert!(may_match_prefix("s3:getobjecttagging", "s3:get"));
        assert!(may_match_prefix("s3:*object", "s3:get"));
        assert!(may_match_prefix("*", "s3:put"));
        assert!(may_match_prefix("s3:?ut*", "s3:put"));
        assert!(!may_match_prefix("s3:putobject", "s3:get"));
        assert!(!may_match_prefix("iam:*", "s3:get"));
        assert!(excludes_family("s3:*", "s3:get"));
        assert!(excludes_family("s3:get*", "s3:get"));
        assert!(!excludes_family("s3:getobject", "s3:get"));
        assert!(!excludes_family("s3:g?t*", "s3:get"));
    }

    #[test]
    fn access_point_arns_pin_with_a_wildcard_only_in_the_name() {
        for pins in [
            "arn:aws:s3:us-east-1:111122223333:accesspoint/*",
            "arn:aws:s3:us-east-1:111122223333:accesspoint/web-*",
            "arn:aws:s3:us-east-1:111122223333:accesspoint/web",
            "arn:aws-cn:s3:cn-north-1:111122223333:accesspoint/a?c",
        ] {
            assert!(is_fixed_access_point(pins), "{pins}");
        }
        for public in [
            "arn:aws:s3:us-east-1:*:accesspoint/*",
            "arn:aws:s3:*:111122223333:accesspoint/*",
            "arn:aws:s3:us-east-1:11112222333?:accesspoint/x",
            "arn:aws:s3:us-east-1:${aws:PrincipalAccount}:accesspoint/x",
            "arn:aws:s3:us-east-1:111122223333:accesspoint/${aws:username}",
            "arn:aws:s3:us-east-1:111122223333:accesspoint/",
            "arn:aws:s3:::accesspoint/*",
            "*",
            "arn:aws:s3:us-east-1:111122223333:*",
        ] {
            assert!(!is_fixed_access_point(public), "{public}");
        }
    }

    #[test]
    fn ip_ranges() {
        assert!(narrow_ip("203.0.113.7"));
        assert!(narrow_ip("203.0.0.0/8"));
        assert!(!narrow_ip("0.0.0.0/0"));
        assert!(!narrow_ip("64.0.0.0/2"));
        assert!(
            !narrow_ip("10.0.0.0/1"),
            "a private first address does not make a range narrow"
        );
        assert!(narrow_ip("10.0.0.0/8"));
        assert!(narrow_ip("192.168.0.0/16"));
        assert!(!narrow_ip("not-an-ip"));
        assert!(!narrow_ip("2001:db8::/16"));
        assert!(narrow_ip("2001:db8::/48"));
    }
}
