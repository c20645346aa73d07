//! IAM policy documents: normalisation, semantic comparison and a readable difference.
//!
//! Two documents are *identical* for CloudKestrel when they grant and deny the same
//! things by the rules IAM documents (spec §3.2): statement order, `Sid`, a string vs a
//! one-element list, the case of action names and condition keys, duplicates,
//! whitespace and JSON scalars vs their string forms do not matter. Everything else
//! does: `Bool` is not `BoolIfExists`, another IP is another policy. Operator names are
//! kept as written (IAM does not document them as case-insensitive), so a case-only
//! difference there is reported rather than guessed away.

mod diff;
mod glob;
mod normalize;
mod parse;
#[cfg(test)]
mod tests;
mod written;

pub use diff::{PolicyDiff, StatementChange};
pub use glob::{action_matches, glob};
pub use normalize::normalize;
pub use parse::{parse_document, parse_json_document};
pub use written::Written;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub type Values = BTreeSet<String>;

/// A statement after normalisation, and where it came from ([`Written`], which
/// equality and order ignore). Field order is the display order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Statement {
    #[serde(rename = "Effect")]
    pub effect: String,
    #[serde(rename = "Principal", skip_serializing_if = "Option::is_none")]
    pub principal: Option<BTreeMap<String, Values>>,
    #[serde(rename = "NotPrincipal", skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<BTreeMap<String, Values>>,
    #[serde(rename = "Action", skip_serializing_if = "Option::is_none")]
    pub action: Option<Values>,
    #[serde(rename = "NotAction", skip_serializing_if = "Option::is_none")]
    pub not_action: Option<Values>,
    #[serde(rename = "Resource", skip_serializing_if = "Option::is_none")]
    pub resource: Option<Values>,
    #[serde(rename = "NotResource", skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<Values>,
    /// operator → (lower-cased key → values).
    #[serde(rename = "Condition", skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Values>>,
    /// The statement as written in its document, for messages.
    #[serde(skip)]
    pub written: Written,
}

impl Statement {
    pub fn is_allow(&self) -> bool {
        self.effect == "Allow"
    }

    /// Compact one-line JSON of the normalised statement.
    pub fn to_compact(&self) -> String {
        serde_json::to_string(self).expect("statements always serialise")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `2012-10-17`, or `2008-10-17` when the document has no Version.
    pub version: String,
    pub statements: BTreeSet<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy document: {0}")]
pub struct PolicyError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(msg.into()))
}
