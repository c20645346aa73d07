//! Suppressions: accepted findings, each with a reason and an expiry date, kept in a
//! file of their own (`--suppressions`, default `suppressions.json` beside targets.json)
//! so that it can be reviewed and owned apart from the targets.
//!
//! ```json
//! {"Suppressions": [
//!   {"Rule": "S3_BUCKET_PUBLIC_READ_PROHIBITED", "Resource": "arn:aws:s3:::www.example.com",
//!    "Targets": ["prod"], "Reason": "static website, reviewed in SEC-142",
//!    "Expires": "2027-06-30", "Owner": "web-team"}
//! ]}
//! ```
//!
//! Matching, exactly:
//! - `Rule`: a rule name as targets.json writes it, or `*` for every rule.
//! - `Resource`: the finding's resource ARN, or a glob over it: `*` any run of
//!   characters (`/` and `:` included), `?` one character, `[abc]` one of them,
//!   `{a,b}` either. Case matters, as in ARNs. It must start with `arn:` or be `*`: a
//!   bucket name alone would match nothing.
//! - `Targets` (optional): the target names it applies to, each a name or a glob over
//!   names (`org-*`); absent means every target.
//! - `Check` (optional): one check (`local`, `aws-config`, …); absent means every check.
//! - `Expires`: a date, `YYYY-MM-DD`; the suppression applies through that day (UTC)
//!   and no longer the day after: the finding fails again and the run says so.
//!
//! A suppression only ever applies to a `fail`: a `pass` needs none and an `error` is
//! never suppressed (what could not be read is never accepted). The first suppression
//! in the file that matches a failure is the one it carries; a suppression that matches
//! no failure of any target it applies to is reported as unused.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize, Serializer};

use crate::json_input::{self, InputError, Step};
use crate::rules::{self, Check, Finding, Status};
use crate::targets::Targets;

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

/// One suppression of the file, checked.
#[derive(Debug)]
pub struct Suppression {
    /// Its position in the file's list (0-based) and its line.
    pub index: usize,
    pub line: usize,
    /// `None` for `*`.
    pub rule: Option<&'static str>,
    pub resource: String,
    resource_glob: GlobMatcher,
    pub targets: Option<Vec<String>>,
    target_globs: Option<Vec<GlobMatcher>>,
    pub check: Option<Check>,
    pub applied: std::sync::Arc<Applied>,
}

impl Suppression {
    pub fn applies_to_target(&self, target: &str) -> bool {
        self.target_globs
            .as_ref()
            .is_none_or(|globs| globs.iter().any(|g| g.is_match(target)))
    }

    /// Whether it matches this finding (of a target it applies to), status aside.
    pub fn matches(&self, f: &Finding) -> bool {
        self.rule.is_none_or(|r| r == f.rule)
            && self.check.is_none_or(|c| c == f.check)
            && self.resource_glob.is_match(&*f.resource)
    }

    pub fn expired(&self, today: NaiveDate) -> bool {
        today > self.applied.expires
    }
}

/// The suppressions file, checked.
#[derive(Debug)]
pub struct Suppressions {
    pub file: PathBuf,
    pub list: Vec<Suppression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(rename = "Suppressions")]
    suppressions: Vec<RawSuppression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppression {
    #[serde(rename = "Rule")]
    rule: String,
    #[serde(rename = "Resource")]
    resource: String,
    #[serde(rename = "Targets", default, deserialize_with = "json_input::not_null")]
    targets: Option<Vec<String>>,
    #[serde(rename = "Check", default, deserialize_with = "json_input::not_null")]
    check: Option<String>,
    #[serde(rename = "Reason")]
    reason: String,
    #[serde(rename = "Expires")]
    expires: String,
    #[serde(rename = "Owner", default, deserialize_with = "json_input::not_null")]
    owner: Option<String>,
}

const CHECKS: [Check; 6] = [
    Check::PolicyDocument,
    Check::Attached,
    Check::Deployed,
    Check::AwsConfig,
    Check::Local,
    Check::Setup,
];

/// Reads and checks a suppressions file against the targets it may name.
pub fn load(file: &Path, targets: &Targets) -> Result<Suppressions, InputError> {
    let text = json_input::read(file)?;
    parse(file, &text, targets)
}

/// Checks the text of a suppressions file (`file` names it in messages).
pub fn parse(file: &Path, text: &str, targets: &Targets) -> Result<Suppressions, InputError> {
    let raw: RawFile = json_input::parse(file, text)?;
    let mut list = Vec::with_capacity(raw.suppressions.len());
    for (index, s) in raw.suppressions.into_iter().enumerate() {
        let at = |key: &'static str| {
            [
                Step::Key("Suppressions"),
                Step::Index(index),
                Step::Key(key),
            ]
        };
        let bad = |key: &'static str, message: String| {
            json_input::located(file, text, &at(key), &message)
        };
        let line = json_input::position_of(text, &[Step::Key("Suppressions"), Step::Index(index)])
            .map_or(0, |(l, _)| l);
        let rule = match s.rule.as_str() {
            "*" => None,
            name => Some(rules::find(name).map(|r| r.meta().name).ok_or_else(|| {
                let hint = rules::suggest(name)
                    .map(|n| format!("; did you mean {n}?"))
                    .unwrap_or_default();
                bad(
                    "Rule",
                    format!(
                        "unknown rule {}{hint} Valid: * (every rule) or one of {}",
                        json_input::quoted(name),
                        rules::RULES
                            .iter()
                            .map(|r| r.meta().name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?),
        };
        if s.resource != "*" && !s.resource.starts_with("arn:") {
            let hint = if s.resource.contains(':') {
                String::new()
            } else {
                format!(
                    " (a bucket is arn:aws:s3:::{0}, a user arn:aws:iam::<account>:user/{0})",
                    json_input::cut(&s.resource)
                )
            };
            return Err(bad(
                "Resource",
                format!(
                    "{} is not an ARN or a glob over ARNs: it must start with arn: or be *{hint}",
                    json_input::quoted(&s.resource)
                ),
            ));
        }
        let resource_glob = glob(&s.resource).map_err(|e| bad("Resource", e))?;
        let target_globs = match &s.targets {
            None => None,
            Some(names) if names.is_empty() => {
                return Err(bad(
                    "Targets",
                    "lists no target: leave Targets out to mean every target".into(),
                ))
            }
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| target_glob(n, targets))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(|e| bad("Targets", e))?,
            ),
        };
        let check = match &s.check {
            None => None,
            Some(c) => Some(
                CHECKS
                    .into_iter()
                    .find(|x| x.as_str() == c)
                    .ok_or_else(|| {
                        bad(
                            "Check",
                            format!(
                                "unknown check {}; valid: {}",
                                json_input::quoted(c),
                                CHECKS.map(Check::as_str).join(", ")
                            ),
                        )
                    })?,
            ),
        };
        if s.reason.trim().is_empty() {
            return Err(bad(
                "Reason",
                "is empty: say why this finding is accepted (a ticket, a review)".into(),
            ));
        }
        let expires = expiry_date(&s.expires).ok_or_else(|| {
            bad(
                "Expires",
                format!(
                    "{} is not a date: write it as YYYY-MM-DD, e.g. \"2027-06-30\"",
                    json_input::quoted(&s.expires)
                ),
            )
        })?;
        if s.owner.as_deref().is_some_and(|o| o.trim().is_empty()) {
            return Err(bad(
                "Owner",
                "is empty: leave it out or name the owner".into(),
            ));
        }
        list.push(Suppression {
            index,
            line,
            rule,
            resource: s.resource,
            resource_glob,
            targets: s.targets,
            target_globs,
            check,
            applied: std::sync::Arc::new(Applied {
                reason: s.reason,
                expires,
                owner: s.owner,
            }),
        });
    }
    Ok(Suppressions {
        file: file.to_path_buf(),
        list,
    })
}

/// `YYYY-MM-DD` exactly: four digits, two, two, and a real date. chrono's `%Y-%m-%d`
/// also takes a sign, spaces and fewer digits (`+2027-1-01`, `2027- 1-01`, `+027-01-01`
/// for the year 27), which a length of 10 did not keep out.
fn expiry_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    NaiveDate::from_ymd_opt(
        text[0..4].parse().ok()?,
        text[5..7].parse().ok()?,
        text[8..10].parse().ok()?,
    )
}

fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("{} is not a valid glob: {e}", json_input::quoted(pattern)))
}

/// A target name or glob of `Suppressions[i].Targets`: a name must be a target of
/// targets.json (or an account of an organization entry, `<entry>-<12 digits>`), a glob
/// must be valid.
fn target_glob(name: &str, targets: &Targets) -> Result<GlobMatcher, String> {
    let is_glob = name.contains(['*', '?', '[', '{']);
    if !is_glob && !targets.may_name(name) {
        let hint = crate::suggest::closest(name, targets.targets.iter().map(|t| t.name.as_str()))
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
        return Err(format!(
            "{} is not a target of {}{hint}",
            json_input::quoted(name),
            targets.file.display()
        ));
    }
    glob(name)
}

/// What one suppression did in one report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Use {
    /// Failures it matches (expired or not, carried or shadowed by an earlier one).
    pub matched: usize,
}

impl Suppressions {
    /// The default file: `suppressions.json` beside the targets file, if it exists.
    pub fn default_path(targets_file: &Path) -> PathBuf {
        targets_file
            .parent()
            .unwrap_or(Path::new(""))
            .join("suppressions.json")
    }

    /// Marks the failures of one target's results that a suppression in force accepts;
    /// returns, per suppression that applies to the target, how many failures it
    /// matched. `today` decides what has expired.
    pub fn apply(
        &self,
        target: &str,
        results: &mut [Finding],
        today: NaiveDate,
    ) -> Vec<(usize, Use)> {
        let mine: Vec<&Suppression> = self
            .list
            .iter()
            .filter(|s| s.applies_to_target(target))
            .collect();
        let mut uses = vec![Use::default(); mine.len()];
        for f in results.iter_mut().filter(|f| f.status == Status::Fail) {
            for (i, s) in mine.iter().enumerate() {
                if s.matches(f) {
                    uses[i].matched += 1;
                    if f.suppressed.is_none() && !s.expired(today) {
                        f.suppressed = Some(s.applied.clone());
                    } else if s.expired(today) && f.expired_suppression.is_none() {
                        f.expired_suppression = Some(s.applied.clone());
                    }
                }
            }
        }
        // An acceptance still in force wins over an expired one.
        for f in results.iter_mut().filter(|f| f.suppressed.is_some()) {
            f.expired_suppression = None;
        }
        mine.iter().map(|s| s.index).zip(uses).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expires(date: &str) -> Result<NaiveDate, String> {
        let targets = crate::targets::parse(
            Path::new("t.json"),
            r#"{"Targets": [{"demo": {"Rules": [{"Policy": {"Name": "Force_MFA"}}]}}]}"#,
        )
        .unwrap();
        let text = format!(
            r#"{{"Suppressions": [{{"Rule": "*", "Resource": "*", "Reason": "r", "Expires": "{date}"}}]}}"#
        );
        parse(Path::new("s.json"), &text, &targets)
            .map(|s| s.list[0].applied.expires)
            .map_err(|e| e.to_string())
    }

    /// `"Targets": null` applied a suppression to every target (found by the campaign):
    /// null is never a key left out.
    #[test]
    fn null_is_never_an_absent_key() {
        let targets = crate::targets::parse(
            Path::new("t.json"),
            r#"{"Targets": [{"demo": {"Rules": [{"Policy": {"Name": "Force_MFA"}}]}}]}"#,
        )
        .unwrap();
        for key in ["Targets", "Check", "Owner"] {
            let text = format!(
                r#"{{"Suppressions": [{{"Rule": "*", "Resource": "*", "Reason": "r", "Expires": "2027-01-01", "{key}": null}}]}}"#
            );
            let e = parse(Path::new("s.json"), &text, &targets)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("Suppressions[0].{key}: invalid type: null")),
                "{e}"
            );
        }
    }

    /// Only `YYYY-MM-DD`, a real date: chrono's format took signs, spaces and short
    /// fields of the same length (`+2027-1-01` was 2027-01-01, `-027-01-01` the year -27).
    #[test]
    fn expires_is_exactly_yyyy_mm_dd_and_a_real_date() {
        assert_eq!(
            expires("2027-06-30"),
            Ok(NaiveDate::from_ymd_opt(2027, 6, 30).unwrap())
        );
        assert_eq!(
            expires("2028-02-29"),
            Ok(NaiveDate::from_ymd_opt(2028, 2, 29).unwrap())
        );
        for bad in [
            "+2027-1-01",
            "-027-01-01",
            "+027-01-01",
            " 2027-1-01",
            "2027- 1-01",
            "2027-01- 1",
            "  27-01-01",
            "2027-1-011",
            "2027-01-1 ",
            "02027-1-01",
            "2027-02-30",
            "2027-13-01",
            "2027-00-10",
            "2027-01-00",
            "2027/01/01",
            "2027-01-01T00:00:00Z",
            "2027-01-01 ",
            "20270101",
            "2027-01-011",
            "２０２７-01-01",
            "",
            "2027-1-1",
        ] {
            let e = expires(bad).expect_err(bad);
            assert!(
                e.contains("Expires") && e.contains("is not a date"),
                "{bad}: {e}"
            );
        }
    }
}
