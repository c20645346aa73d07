//! Suppressions: accepted findings, each with a reason and an expiry date, kept in a
//! file of their own (`--suppressions`, default `suppressions.json` beside targets.json)
//! so that they can be reviewed and owned apart from the targets.

use chrono::NaiveDate;
use serde::{Serialize, Serializer};

/// A suppression as it applies to a finding: what the finding's JSON result carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub reason: String,
    #[serde(serialize_with = "date")]
    pub expires: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

fn date<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&d.format("%Y-%m-%d"))
}
