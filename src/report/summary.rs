//! A report's counts: of all its results, and of those about resources and those about
//! the account's setup apart ([`crate::rules::Scope`]), so that a headline does not add
//! a thousand users who cannot have a missing policy to the findings about resources.

use serde::Serialize;

use crate::rules::{Finding, Scope, Status};

/// Counts of results. `fail` counts every failure, `suppressed` those of them a
/// suppression accepts; `new`, with a baseline, those absent from it (suppressed or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub suppressed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<usize>,
}

impl Tally {
    fn add(&mut self, r: &Finding) {
        match r.status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
        }
        self.suppressed += usize::from(r.suppressed.is_some());
        if let Some(new) = r.new {
            *self.new.get_or_insert(0) += usize::from(new);
        }
    }

    /// The failures no suppression accepts: the findings to fix.
    pub fn to_fix(&self) -> usize {
        self.fail - self.suppressed
    }
}

/// The counts of a report: its results' (the JSON summary's first fields, as before
/// scopes), and apart those of `resource` and of `account` scope, which add up to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub total: Tally,
    pub resource: Tally,
    pub account: Tally,
}

impl Summary {
    pub fn of(results: &[Finding]) -> Self {
        let mut s = Summary::default();
        for r in results {
            s.total.add(r);
            match r.scope {
                Scope::Resource => s.resource.add(r),
                Scope::Account => s.account.add(r),
            }
        }
        // With a baseline, each scope says how many are new, none included.
        if s.total.new.is_some() {
            for t in [&mut s.resource, &mut s.account] {
                t.new.get_or_insert(0);
            }
        }
        s
    }

    /// The counts of one scope.
    pub fn of_scope(&self, scope: Scope) -> &Tally {
        match scope {
            Scope::Resource => &self.resource,
            Scope::Account => &self.account,
        }
    }
}
