//! The IAM permissions collection needs: one line per operation `collect` makes (named
//! as a snapshot's `api_calls` and every problem name it, `service:Operation`), with the
//! IAM action that allows it where the two differ (S3's `ListBuckets` is
//! `s3:ListAllMyBuckets`, S3 Control's `GetPublicAccessBlock` is
//! `s3:GetAccountPublicAccessBlock`…).
//!
//! The policies a user deploys are checked against these tables (tests/org_examples.rs):
//! the member-account role, `policies/CloudKestrelAudit-member-role.yaml`, grants every
//! [`IN_ACCOUNT`] action, and the management side,
//! `policies/CloudKestrelAudit-management.json`, every [`IN_ACCOUNT`] and [`REACH`]
//! one. A unit test below holds the tables to the operations the collectors name, so a
//! new call cannot be added without its permission.

/// One operation and the IAM action that allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// As `api_calls` counts it: `service:Operation`.
    pub operation: &'static str,
    /// The IAM action.
    pub action: &'static str,
}

const fn same(operation: &'static str) -> Permission {
    Permission {
        operation,
        action: operation,
    }
}

/// What collect reads in each audited account, with the credentials that reach it (the
/// member role, or the entry's own credentials in their own account). All read-only.
pub const IN_ACCOUNT: &[Permission] = &[
    same("iam:GetAccountAuthorizationDetails"),
    same("iam:GenerateCredentialReport"),
    same("iam:GetCredentialReport"),
    same("iam:GetAccountSummary"),
    same("iam:GetAccountPasswordPolicy"),
    same("iam:ListVirtualMFADevices"),
    same("config:DescribeConfigurationRecorders"),
    same("config:DescribeConfigurationRecorderStatus"),
    same("config:DescribeDeliveryChannels"),
    same("config:DescribeConfigRules"),
    same("config:GetComplianceDetailsByConfigRule"),
    Permission {
        operation: "s3:ListBuckets",
        action: "s3:ListAllMyBuckets",
    },
    Permission {
        operation: "s3control:GetPublicAccessBlock",
        action: "s3:GetAccountPublicAccessBlock",
    },
    same("s3:GetBucketLocation"),
    same("s3:GetBucketAcl"),
    same("s3:GetBucketPolicy"),
    Permission {
        operation: "s3:GetPublicAccessBlock",
        action: "s3:GetBucketPublicAccessBlock",
    },
    same("s3:GetBucketOwnershipControls"),
];

/// What the credentials of a target or an organization entry need to reach the audited
/// accounts: discovering the organization's accounts, and assuming a role (`RoleArn`, or
/// the member role in every account but the entry's own).
pub const REACH: &[Permission] = &[
    same("organizations:DescribeOrganization"),
    same("organizations:ListAccounts"),
    same("organizations:ListAccountsForParent"),
    same("organizations:ListChildren"),
    same("sts:AssumeRole"),
];

/// Operations IAM never refuses: no policy grants or denies them.
pub const UNGATED: &[&str] = &["sts:GetCallerIdentity"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The sources of every collector: each names its operations (`"iam:GetAccountSummary"`)
    /// in the problems it records.
    const SOURCES: [(&str, &str); 6] = [
        ("collect/aws.rs", include_str!("aws.rs")),
        ("collect/mod.rs", include_str!("mod.rs")),
        ("collect/iam.rs", include_str!("iam.rs")),
        ("collect/config.rs", include_str!("config.rs")),
        ("collect/s3.rs", include_str!("s3.rs")),
        (
            "targets/organization.rs",
            include_str!("../targets/organization.rs"),
        ),
    ];

    const SERVICES: [&str; 6] = ["sts", "iam", "config", "s3", "s3control", "organizations"];

    /// Every `"service:Operation"` string literal of `text` (any text between two
    /// quotes: escaped quotes and `'"'` cannot shift what is found).
    fn operations_named(text: &str) -> Vec<&str> {
        text.split('"')
            .filter(|s| {
                s.split_once(':').is_some_and(|(svc, op)| {
                    SERVICES.contains(&svc)
                        && op.starts_with(|c: char| c.is_ascii_uppercase())
                        && op.chars().all(|c| c.is_ascii_alphanumeric())
                })
            })
            .collect()
    }

    #[test]
    fn the_tables_hold_exactly_the_operations_the_collectors_make() {
        let listed: Vec<&str> = IN_ACCOUNT
            .iter()
            .chain(REACH)
            .map(|p| p.operation)
            .chain(UNGATED.iter().copied())
            .collect();
        let mut named = std::collections::BTreeSet::new();
        for (file, text) in SOURCES {
            for op in operations_named(text) {
                assert!(
                    listed.contains(&op),
                    "src/{file} calls {op}: add it and its IAM action to src/collect/permissions.rs"
                );
                named.insert(op);
            }
        }
        for op in &listed {
            assert!(
                named.contains(op),
                "{op} is listed but no collector makes it"
            );
        }
        let mut unique = listed.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), listed.len(), "an operation listed twice");
    }

    #[test]
    fn every_action_reads() {
        // Only reads (Get, List, Describe), the credential report's generation (IAM
        // classes it as a read) and assuming the role.
        for p in IN_ACCOUNT.iter().chain(REACH) {
            let (_, verb) = p.action.split_once(':').unwrap();
            assert!(
                ["Get", "List", "Describe"]
                    .iter()
                    .any(|v| verb.starts_with(v))
                    || ["iam:GenerateCredentialReport", "sts:AssumeRole"].contains(&p.action),
                "{p:?}"
            );
        }
        // The scan finds literals and nothing else.
        assert_eq!(
            operations_named(r#"x("s3:GetBucketAcl", "s3:x", "a:B", "iam:Get Thing")"#),
            ["s3:GetBucketAcl"]
        );
    }
}
