use chrono::{DateTime, Utc};

use crate::model::Section;
use crate::rules::{
    cat, rule, Context, Finding, Kind, Rule, RuleMeta, Setting, Severity, Status, Trigger,
    ValueType,
};

rule! {
    /// ## What it checks
    /// That no IAM user has a console password or an **active** access key unused for
    /// `maxCredentialUsageAge` days or more (AWS Config managed rule
    /// `iam-user-unused-credentials-check`, periodic). One result per IAM user.
    ///
    /// The local check reads the IAM credential report. "Now" is the snapshot's
    /// `collected_at`, never the wall clock, so an archived snapshot gives the same
    /// verdict forever. Ages are whole days (rounded down).
    ///
    /// ## Why it matters
    /// Credentials nobody uses are credentials nobody watches: if one leaks, its use
    /// stands out to no one. Unused credentials should be disabled or removed.
    ///
    /// ## How to fix
    /// Deactivate or delete the unused access keys (IAM → Users → Security credentials)
    /// and remove console passwords that are not used (delete the login profile).
    ///
    /// ## Choices made
    /// - **Never-used credentials** are aged from their own creation: a password from the
    ///   report's `password_last_changed` (else the user's creation), an access key from
    ///   its `last_rotated` date. This is what AWS's remediation runbook
    ///   (`AWSConfigRemediation-RevokeUnusedIAMUserCredentials`) and the CIS audit do. A
    ///   brand-new user younger than the limit therefore passes, and a never-used key
    ///   older than the limit fails. Option `AgeFrom: "user"` ages never-used
    ///   credentials from the user's creation instead.
    /// - The boundary is inclusive (`age >= maxCredentialUsageAge` fails), like the
    ///   runbook. Option `Boundary: ">"` makes it exclusive.
    /// - Inactive access keys are ignored, as the managed rule documents. A user with no
    ///   password and no active key passes.
    ///
    /// ## Parameters
    /// `maxCredentialUsageAge` (days, default 90; 1 to 2147483647, AWS's `int`). The AWS
    /// CIS conformance packs use 45.
    ///
    /// ## References
    /// - AWS Config: iam-user-unused-credentials-check
    /// - CIS AWS Foundations v5.0.0 1.11 "Ensure credentials unused for 45 days or more are disabled"
    pub static META = RuleMeta {
        name: "IAM_USER_UNUSED_CREDENTIALS_CHECK",
        kind: Kind::Config,
        source_identifier: Some("IAM_USER_UNUSED_CREDENTIALS_CHECK"),
        aws_rule_name: Some("iam-user-unused-credentials-check"),
        summary: "No user has a password or active access key unused for maxCredentialUsageAge days",
        user_scoped: true,
        global: true,
        trigger: Trigger::Periodic,
        parameters: &[Setting {
            name: "maxCredentialUsageAge",
            ty: ValueType::PositiveInt,
            default: Some("90"),
            doc: "Days a credential may go unused (default 90)",
        }],
        options: &[
            Setting {
                name: "AgeFrom",
                ty: ValueType::Choice(&["credential", "user"]),
                default: Some("credential"),
                doc: "Age never-used credentials from their own creation (default) or from the user's",
            },
            Setting {
                name: "Boundary",
                ty: ValueType::Choice(&[">=", ">"]),
                default: Some(">="),
                doc: "Whether exactly maxCredentialUsageAge days unused fails (>=, default) or not (>)",
            },
        ],
        needs: &[Section::IamAuthorization, Section::IamCredentialReport],
        severity: Severity::Medium,
        severity_reason: "forgotten passwords and keys are credentials nobody watches; they are a way in that no one would miss, not an opening by themselves",
    };
}

pub struct UnusedCredentials;

impl Rule for UnusedCredentials {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let now = cx.account.metadata.collected_at;
        // Never a default in place of a value that cannot be read: every user is then
        // undecided.
        let max = match cx.spec.param_positive_int("maxCredentialUsageAge") {
            Ok(n) => i64::from(n),
            Err(why) => {
                return super::per_user_with_credentials(cx, |user, _| {
                    (Status::Error, cat!(user.name, ": cannot decide: ", why))
                })
            }
        };
        let from_user = cx.spec.option("AgeFrom") == Some("user");
        let inclusive = cx.spec.option("Boundary") != Some(">");
        let stale = |days: i64| if inclusive { days >= max } else { days > max };
        let days = |t: DateTime<Utc>| (now - t).num_days();

        let max_text = max.to_string();
        super::per_user_with_credentials(cx, |user, row| {
            // (what, days unused, used at all)
            let mut creds: Vec<(&str, i64, bool)> = Vec::new();
            if row.password_enabled {
                match row.password_last_used {
                    Some(t) => creds.push(("password", days(t), true)),
                    None => {
                        let since = if from_user {
                            row.user_creation_time
                        } else {
                            row.password_last_changed.unwrap_or(row.user_creation_time)
                        };
                        creds.push(("password", days(since), false));
                    }
                }
            }
            for (n, key) in row.access_keys().filter(|(_, k)| k.active) {
                let what = if n == 1 {
                    "access key 1"
                } else {
                    "access key 2"
                };
                match key.last_used {
                    Some(t) => creds.push((what, days(t), true)),
                    None => {
                        let since = if from_user {
                            row.user_creation_time
                        } else {
                            key.last_rotated
                        };
                        creds.push((what, days(since), false));
                    }
                }
            }
            if creds.is_empty() {
                return (
                    Status::Pass,
                    cat!(
                        user.name,
                        " has no console password and no active access key"
                    ),
                );
            }
            // One message, written in place: this runs for every user (issue 5).
            let list = |out: &mut String, stale_only: bool| {
                let mut first = true;
                for (what, d, used) in creds.iter().filter(|c| !stale_only || stale(c.1)) {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    out.push_str(what);
                    out.push_str(if *used {
                        " last used "
                    } else {
                        " never used, "
                    });
                    out.push_str(itoa::Buffer::new().format(*d));
                    out.push_str(if *used { " day(s) ago" } else { " day(s) old" });
                }
            };
            let mut message = String::with_capacity(128);
            message.push_str(&user.name);
            if creds.iter().any(|c| stale(c.1)) {
                message.push_str(" has credentials unused for ");
                message.push_str(&max_text);
                message.push_str("+ days: ");
                list(&mut message, true);
                (Status::Fail, message)
            } else {
                message.push_str(": ");
                list(&mut message, false);
                message.push_str(" (limit ");
                message.push_str(&max_text);
                message.push_str(" days)");
                (Status::Pass, message)
            }
        })
    }
}
