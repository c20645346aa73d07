//! The closed sets of values the model's text fields hold, each defined once, here.
//!
//! A field with a closed domain holds one of its values and nothing else: collect stores
//! only those (a value AWS sends outside the set, e.g. an SDK `Unknown` variant, is a
//! problem of its section, never data), the snapshot writer refuses an account that holds
//! another ([`Account::check_domains`]) and the reader refuses a snapshot that does. So a
//! snapshot that collect wrote is always one that evaluate reads, and a value no rule
//! knows never meets a rule that would read it leniently.
//!
//! Free-text fields (names, ARNs, messages) and `ConfigRecorder::last_status` (AWS
//! documents `Pending | Success | Failure`, AWS and moto send `SUCCESS`, `PENDING`; no
//! verdict reads it) have no domain.

use std::fmt;

use super::{Account, Bucket, ComplianceResult, ConfigRecorder, ConfigRule, Grant};

/// A closed set of values of one text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Domain {
    /// What the values are, for messages (`ACL permission`).
    pub what: &'static str,
    pub values: &'static [&'static str],
}

impl Domain {
    pub fn contains(&self, value: &str) -> bool {
        self.values.contains(&value)
    }

    /// `Ok` when `value` is in the domain, else why not (the value quoted and cut).
    pub fn check(&self, value: &str) -> Result<(), String> {
        if self.contains(value) {
            Ok(())
        } else {
            Err(format!("{} is not {self}", quoted(value)))
        }
    }
}

impl fmt::Display for Domain {
    /// `an ACL permission (FULL_CONTROL, READ, …)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let article = if self
            .what
            .starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u'])
        {
            "an"
        } else {
            "a"
        };
        write!(f, "{article} {} ({})", self.what, self.values.join(", "))
    }
}

/// A value from an account or a snapshot as messages show it: quoted with control
/// characters and other non-printing ones escaped (Rust's `{:?}`), cut after 80
/// characters.
pub fn quoted(value: &str) -> String {
    const MAX: usize = 80;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
        None => format!("{value:?}"),
    }
}

impl Grant {
    /// S3's grantee types (the SDK's `Type`).
    pub const GRANTEE_TYPES: Domain = Domain {
        what: "ACL grantee type",
        values: &["AmazonCustomerByEmail", "CanonicalUser", "Group"],
    };
    /// S3's ACL permissions (the SDK's `Permission`).
    pub const PERMISSIONS: Domain = Domain {
        what: "ACL permission",
        values: &["FULL_CONTROL", "READ", "READ_ACP", "WRITE", "WRITE_ACP"],
    };
}

impl Bucket {
    /// S3 Object Ownership settings (the SDK's `ObjectOwnership`).
    pub const OBJECT_OWNERSHIP: Domain = Domain {
        what: "Object Ownership setting",
        values: &[
            "BucketOwnerEnforced",
            "BucketOwnerPreferred",
            "ObjectWriter",
        ],
    };
}

impl ConfigRule {
    /// Who provides a rule (the SDK's `Owner`).
    pub const SOURCE_OWNERS: Domain = Domain {
        what: "Config rule source owner",
        values: &["AWS", "CUSTOM_LAMBDA", "CUSTOM_POLICY"],
    };
    /// A rule's state (the SDK's `ConfigRuleState`).
    pub const STATES: Domain = Domain {
        what: "Config rule state",
        values: &["ACTIVE", "DELETING", "DELETING_RESULTS", "EVALUATING"],
    };
    /// A periodic rule's frequency (the SDK's `MaximumExecutionFrequency`).
    pub const EXECUTION_FREQUENCIES: Domain = Domain {
        what: "Config rule execution frequency",
        values: &[
            "One_Hour",
            "Three_Hours",
            "Six_Hours",
            "Twelve_Hours",
            "TwentyFour_Hours",
        ],
    };
}

impl ConfigRecorder {
    /// A recording group's strategy (the SDK's `RecordingStrategyType`).
    pub const RECORDING_STRATEGIES: Domain = Domain {
        what: "recording strategy",
        values: &[
            "ALL_SUPPORTED_RESOURCE_TYPES",
            "EXCLUSION_BY_RESOURCE_TYPES",
            "INCLUSION_BY_RESOURCE_TYPES",
        ],
    };
}

impl ComplianceResult {
    /// The compliance of one evaluation result: the SDK's `ComplianceType` without
    /// `INSUFFICIENT_DATA`, which AWS documents as never given for an evaluation result
    /// (and collect asks for exactly these three).
    pub const COMPLIANCE: Domain = Domain {
        what: "evaluation result compliance",
        values: &["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"],
    };
}

impl Account {
    /// The first value of the account outside its domain, if any: a text field outside
    /// its [`Domain`], a negative count, a request count a snapshot cannot store. The
    /// snapshot writer refuses such an account: the reader would refuse the snapshot.
    pub fn check_domains(&self) -> Result<(), String> {
        let count = |what: String, n: i64| {
            if n < 0 {
                Err(format!("{what}: {n} is negative (a count)"))
            } else {
                Ok(())
            }
        };
        let field = |what: String, domain: &Domain, value: &str| {
            domain.check(value).map_err(|e| format!("{what}: {e}"))
        };
        for p in &self.iam.policies {
            let at = |f: &str| format!("policy {}: {f}", quoted(&p.arn));
            count(at("attachment_count"), p.attachment_count)?;
            count(
                at("permissions_boundary_usage_count"),
                p.permissions_boundary_usage_count,
            )?;
        }
        for (key, n) in &self.iam.account_summary {
            count(format!("account summary {}", quoted(key)), *n)?;
        }
        for region in &self.config.regions {
            for r in &region.recorders {
                if let Some(s) = &r.recording_strategy {
                    field(
                        format!(
                            "recorder {} in {}: recording_strategy",
                            quoted(&r.name),
                            region.region
                        ),
                        &ConfigRecorder::RECORDING_STRATEGIES,
                        s,
                    )?;
                }
            }
            for r in &region.rules {
                let at =
                    |f: &str| format!("Config rule {} in {}: {f}", quoted(&r.name), region.region);
                field(
                    at("source_owner"),
                    &ConfigRule::SOURCE_OWNERS,
                    &r.source_owner,
                )?;
                if let Some(s) = &r.state {
                    field(at("state"), &ConfigRule::STATES, s)?;
                }
                if let Some(f) = &r.maximum_execution_frequency {
                    field(
                        at("maximum_execution_frequency"),
                        &ConfigRule::EXECUTION_FREQUENCIES,
                        f,
                    )?;
                }
            }
            for c in &region.compliance {
                let at = format!(
                    "result of Config rule {} for {} in {}: compliance",
                    quoted(&c.config_rule_name),
                    quoted(&c.resource_id),
                    region.region
                );
                field(at, &ComplianceResult::COMPLIANCE, &c.compliance)?;
            }
        }
        for b in &self.s3.buckets {
            let at = |f: &str| format!("bucket {}: {f}", quoted(&b.name));
            if let Some(o) = &b.ownership_controls {
                field(at("ownership_controls"), &Bucket::OBJECT_OWNERSHIP, o)?;
            }
            for g in &b.acl_grants {
                field(at("grantee_type"), &Grant::GRANTEE_TYPES, &g.grantee_type)?;
                field(at("permission"), &Grant::PERMISSIONS, &g.permission)?;
            }
        }
        for (op, n) in &self.api_calls {
            if i64::try_from(*n).is_err() {
                return Err(format!(
                    "api_calls {}: {n} requests is more than a snapshot can store",
                    quoted(op)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each domain is the SDK enum's set of values (the compliance of an evaluation
    /// result: all but INSUFFICIENT_DATA), so that collect can store every value AWS
    /// documents and nothing else.
    #[test]
    fn domains_are_the_sdk_enums() {
        use aws_sdk_config::types as config;
        use aws_sdk_s3::types as s3;
        let same = |d: Domain, sdk: &[&str]| {
            let mut a = d.values.to_vec();
            let mut b = sdk.to_vec();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "{}", d.what);
        };
        same(Grant::GRANTEE_TYPES, s3::Type::values());
        same(Grant::PERMISSIONS, s3::Permission::values());
        same(Bucket::OBJECT_OWNERSHIP, s3::ObjectOwnership::values());
        same(ConfigRule::SOURCE_OWNERS, config::Owner::values());
        same(ConfigRule::STATES, config::ConfigRuleState::values());
        same(
            ConfigRule::EXECUTION_FREQUENCIES,
            config::MaximumExecutionFrequency::values(),
        );
        let mut compliance = config::ComplianceType::values().to_vec();
        compliance.retain(|v| *v != "INSUFFICIENT_DATA");
        same(ComplianceResult::COMPLIANCE, &compliance);
    }

    #[test]
    fn messages_say_what_is_valid_and_escape_the_value() {
        assert_eq!(
            Grant::PERMISSIONS.check("READ\u{1b}[2J").unwrap_err(),
            "\"READ\\u{1b}[2J\" is not an ACL permission (FULL_CONTROL, READ, READ_ACP, WRITE, WRITE_ACP)"
        );
        assert!(Grant::PERMISSIONS.check("READ").is_ok());
        assert!(Grant::PERMISSIONS.check("read").is_err());
        let long = "x".repeat(200);
        assert_eq!(quoted(&long), format!("{:?}… (200 bytes)", "x".repeat(80)));
    }
}
