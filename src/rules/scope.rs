//! What a result is about: a resource of the account, or the account's setup.
//!
//! Measured on a 500-user account (issue 13): of 1,446 failures, 434 were about
//! resources; 1,002 were `attached` failures of one policy the account did not have,
//! which one action fixes, and the rest said that AWS Config was not deployed. So every
//! result has a [`Scope`], and the headlines (terminal, HTML, the JSON summary) count
//! the two apart:
//! - `account`: the account's setup. `policy-document` (CloudKestrel's policy is there,
//!   as written), `deployed` (the AWS Config rule is there and evaluated), `setup`
//!   (Account_Setup's groups and attachments), and the `attached` failures that say a
//!   user cannot have the policy because the account has no such policy: they follow
//!   from the `policy-document` failure ([`Cause`]) and are fixed with it.
//! - `resource`: everything else, a user, a policy, a bucket, the root user's keys:
//!   `local`, `aws-config`, and `attached` when the policy exists.
//!
//! A scope changes no status: an account-level failure is a failure like any other
//! (exit 1 unless suppressed), and an error is an error whatever its scope.

use std::sync::{Arc, OnceLock};

use serde::{Serialize, Serializer};

use super::id::FindingId;
use super::Check;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Resource,
    Account,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Resource => "resource",
            Scope::Account => "account",
        }
    }
}

impl Check {
    /// The scope of this check's results; an `attached` result that follows from a
    /// missing policy is `account` ([`super::Finding::follows`]).
    pub fn scope(self) -> Scope {
        match self {
            Check::PolicyDocument | Check::Deployed | Check::Setup => Scope::Account,
            Check::Attached | Check::AwsConfig | Check::Local => Scope::Resource,
        }
    }
}

/// The account-level result of the same rule that results follow from: its check and
/// resource (a result without an aspect), and its id, made when the first report of
/// these results is ([`crate::report::TargetReport::new`]). Shared by every result
/// that follows from it (one per user of a missing policy), so that each carries a
/// pointer, not a copy. In the JSON report, that id.
#[derive(Debug)]
pub struct Cause {
    pub check: Check,
    pub resource: Arc<str>,
    id: OnceLock<FindingId>,
}

impl Cause {
    pub fn new(check: Check, resource: Arc<str>) -> Arc<Cause> {
        Arc::new(Cause {
            check,
            resource,
            id: OnceLock::new(),
        })
    }

    /// Its id, made by `make` the first time.
    pub fn id_or(&self, make: impl FnOnce() -> FindingId) -> FindingId {
        *self.id.get_or_init(make)
    }

    /// Its id; the default one before a report was made of the results.
    pub fn id(&self) -> FindingId {
        self.id.get().copied().unwrap_or_default()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        (self.check, &self.resource, self.id()) == (other.check, &other.resource, other.id())
    }
}

impl Eq for Cause {}

impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.id().serialize(s)
    }
}

/// What an account-level result says about the setup, where its check and status do
/// not say it alone (a `policy-document` failure: missing or different?). Set by the
/// rule on its `policy-document` and `deployed` results that are not errors; for the
/// HTML rules table and the headlines, not in the JSON report (the check, status and
/// message say it there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// The policy is CloudKestrel's, as written.
    PolicyIdentical,
    /// The policy exists but is not CloudKestrel's (or is not a valid policy).
    PolicyDiffers,
    /// The account has no policy of that name.
    PolicyMissing,
    /// Deployed with a recording recorder where it has to be.
    Deployed,
    /// Not deployed (or without a recording recorder) where it has to be.
    NotDeployed,
    /// Deployed, but the recorder does not record the types this change-triggered rule
    /// needs: AWS Config never evaluates it.
    NotRecorded,
}

impl AccountState {
    /// In the words of the HTML rules table.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::PolicyIdentical => "policy identical",
            AccountState::PolicyDiffers => "policy differs",
            AccountState::PolicyMissing => "policy missing",
            AccountState::Deployed => "deployed",
            AccountState::NotDeployed => "not deployed",
            AccountState::NotRecorded => "not recorded",
        }
    }
}
