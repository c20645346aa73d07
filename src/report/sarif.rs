//! SARIF 2.1.0 (`--format sarif`, `<report-dir>/<target>.sarif`), for GitHub code
//! scanning and other SARIF viewers. Built with the `serde-sarif` crate.
//!
//! - One run per file, one SARIF rule per CloudKestrel rule configured for the target,
//!   with its documentation as help (Markdown), its severity as `level` and as GitHub's
//!   `security-severity`.
//! - One result per `fail`. Passes are not results (code scanning would open an alert
//!   for each); `error` results and collection problems are tool execution
//!   notifications of the invocation (an error result's with its rule and location),
//!   which then is not `executionSuccessful`.
//! - Every result has a physical location, as code scanning requires: a relative
//!   pseudo-path for the resource (see [`resource_uri`]), its aspect as one more segment
//!   when it has one, at the line of its check ([`check_line`]), and the ARN as a
//!   logical location. No two results of a rule share a place: GitHub's dismiss-alerts
//!   action and SARIF viewers tell results apart by rule, URI, line and column. The
//!   finding id is `partialFingerprints.primaryLocationLineHash`, which code scanning
//!   uses to follow an alert across runs.
//! - Each result's and error notification's properties give its `scope` (`resource`
//!   or `account`, as in the JSON report); a failure that follows from another (a user
//!   who cannot have a missing policy) gives that one's finding id as `followsFrom`.
//! - A suppressed failure carries an `accepted`, `external` SARIF suppression with its
//!   reason, expiry and owner; with a baseline, `baselineState` is `new` or `unchanged`.
//! - `automationDetails.id` is `cloudkestrel/<target>/`: each target's file is its own
//!   code-scanning category, as GitHub requires for several files of one commit.
//! - Account text is written as the JSON report writes it: characters that could drive
//!   a terminal are `\u` escapes ([`crate::untrusted::to_json_pretty`]), so that `cat`
//!   of the file is safe; the strings are the same to any JSON reader.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, ReportingDescriptorReference, Result as SarifResult, ResultKind,
    ResultLevel, Run, RunAutomationDetails, Sarif, Suppression, Tool, ToolComponent,
};

use super::TargetReport;
use crate::rules::{self, Check, Finding, Severity, Status};

/// SARIF's `level` and GitHub's `security-severity` (a number as a string: above 9.0
/// is critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, below low).
fn level(severity: Severity) -> (ResultLevel, &'static str) {
    match severity {
        Severity::Critical => (ResultLevel::Error, "9.5"),
        Severity::High => (ResultLevel::Error, "8.0"),
        Severity::Medium => (ResultLevel::Warning, "5.5"),
        Severity::Low => (ResultLevel::Note, "2.0"),
    }
}

fn level_word(l: &ResultLevel) -> &'static str {
    match l {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The location of a resource for code scanning: a relative path without a scheme
/// (GitHub refuses an upload with a URI of another scheme than `file`) and without
/// `:`, `<partition>/<audited account>/<region or global>/<service>/<resource…>`, each
/// segment percent-encoded: `arn:aws:s3:::acme-logs` in account 123456789012 is
/// `aws/123456789012/global/s3/acme-logs`, `arn:aws:iam::123456789012:user/ops/alice`
/// is `aws/123456789012/global/iam/user/ops/alice`. The audited account, because bucket
/// ARNs have none. Something that is not an ARN is `<account>/other/<it, encoded>`.
pub fn resource_uri(arn: &str, account: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, region, _, resource] = parts.as_slice() else {
        return format!("{}/other/{}", encode(account), encode(arn));
    };
    let mut out = format!(
        "{}/{}/{}/{}",
        encode(partition),
        encode(account),
        if region.is_empty() {
            "global".to_string()
        } else {
            encode(region)
        },
        encode(service)
    );
    for segment in resource.split(['/', ':']) {
        out.push('/');
        out.push_str(&encode(segment));
    }
    out
}

/// The line of a resource's pseudo-file where a check's result is: one line per check,
/// so that the `local` and `aws-config` results of one bucket, or the `deployed` and
/// `local` results of the account, are at different places.
pub fn check_line(check: Check) -> i64 {
    match check {
        Check::PolicyDocument => 1,
        Check::Attached => 2,
        Check::Deployed => 3,
        Check::AwsConfig => 4,
        Check::Local => 5,
        Check::Setup => 6,
    }
}

/// Where a finding is: [`resource_uri`], then its aspect as one more segment (the
/// policy an Account_Setup result expects on a group), at [`check_line`]; the ARN as
/// a logical location and as the location's message.
fn location(f: &Finding, account: &str) -> Location {
    let mut uri = resource_uri(&f.resource, account);
    if let Some(aspect) = f.aspect {
        uri.push('/');
        uri.push_str(&encode(aspect));
    }
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(uri).build())
                .region(Region::builder().start_line(check_line(f.check)).build())
                .build(),
        )
        .logical_locations(vec![LogicalLocation::builder()
            .fully_qualified_name(&*f.resource)
            .name(&*f.resource_name)
            .kind("resource")
            .build()])
        .message(Message::builder().text(&*f.resource).build())
        .build()
}

/// The SARIF rule name: CamelCase of the rule id, which viewers want different from it.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn props(entries: impl IntoIterator<Item = (&'static str, Value)>) -> BTreeMap<String, Value> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The SARIF log of one target's report.
pub fn log(report: &TargetReport, rule_order: &[&'static str]) -> Sarif {
    let account = report.account_id.as_deref().unwrap_or("unknown");
    // The severity each rule has for this target (its results carry it).
    let severity_of = |name: &str| {
        report
            .results
            .iter()
            .find(|r| r.rule == name)
            .map(|r| r.severity)
            .or_else(|| rules::find(name).map(|r| r.meta().severity))
            .unwrap_or(Severity::Low)
    };
    let descriptors: Vec<ReportingDescriptor> = rule_order
        .iter()
        .filter_map(|name| rules::find(name).map(|r| r.meta()))
        .map(|m| {
            let severity = severity_of(m.name);
            let (lvl, score) = level(severity);
            let doc = m
                .doc
                .lines()
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n");
            let help = format!(
                "{}\n\nSeverity: {} ({}).\n\n{doc}",
                m.summary,
                severity.as_str(),
                m.severity_reason
            );
            ReportingDescriptor::builder()
                .id(m.name)
                .name(camel(m.name))
                .short_description(MultiformatMessageString::builder().text(m.summary).build())
                .full_description(MultiformatMessageString::builder().text(m.summary).build())
                .help(
                    MultiformatMessageString::builder()
                        .text(help.clone())
                        .markdown(help)
                        .build(),
                )
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(json!(level_word(&lvl)))
                        .build(),
                )
                .properties(
                    PropertyBag::builder()
                        .tags(vec![
                            "security".to_string(),
                            "aws".to_string(),
                            m.kind.as_str().to_ascii_lowercase(),
                        ])
                        .additional_properties(props([
                            ("security-severity", json!(score)),
                            ("severity", json!(severity.as_str())),
                            ("severity-reason", json!(m.severity_reason)),
                        ]))
                        .build(),
                )
                .build()
        })
        .collect();
    let rule_index = |name: &str| {
        rule_order
            .iter()
            .filter(|n| rules::find(n).is_some())
            .position(|n| *n == name)
    };
    let results: Vec<SarifResult> = report
        .results
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| result(f, account, &report.target, rule_index(f.rule)))
        .collect();
    let notifications: Vec<Notification> = report
        .results
        .iter()
        .filter(|f| f.status == Status::Error)
        .map(|f| {
            let mut n = Notification::builder()
                .message(
                    Message::builder()
                        .text(format!(
                            "{} [{}] {}: {}",
                            f.rule,
                            f.check.as_str(),
                            f.resource_name,
                            f.message
                        ))
                        .build(),
                )
                .level(json!("error"))
                .locations(vec![location(f, account)])
                .properties(
                    PropertyBag::builder()
                        .additional_properties(props([
                            ("findingId", json!(f.id.to_string())),
                            ("check", json!(f.check.as_str())),
                            ("scope", json!(f.scope.as_str())),
                        ]))
                        .build(),
                )
                .build();
            let mut rule = ReportingDescriptorReference::builder().id(f.rule).build();
            rule.index = rule_index(f.rule).map(|i| i as i64);
            n.associated_rule = Some(rule);
            n
        })
        .chain(report.problems.iter().map(|p| {
            Notification::builder()
                .message(
                    Message::builder()
                        .text(format!("collection problem: {p}"))
                        .build(),
                )
                .level(json!("error"))
                .build()
        }))
        .collect();
    let mut invocation = Invocation::builder()
        .execution_successful(report.fully_audited())
        .build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    let run = Run::builder()
        .tool(
            Tool::builder()
                .driver(
                    ToolComponent::builder()
                        .name("CloudKestrel")
                        .semantic_version(env!("CARGO_PKG_VERSION"))
                        .rules(descriptors)
                        .build(),
                )
                .build(),
        )
        .automation_details(
            RunAutomationDetails::builder()
                .id(format!("cloudkestrel/{}/", report.target))
                .build(),
        )
        .invocations(vec![invocation])
        .results(results)
        .properties(
            PropertyBag::builder()
                .additional_properties(props([
                    ("target", json!(report.target)),
                    ("accountId", json!(report.account_id)),
                    ("snapshot", json!(report.snapshot)),
                ]))
                .build(),
        )
        .build();
    Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn result(f: &Finding, account: &str, target: &str, rule_index: Option<usize>) -> SarifResult {
    let (lvl, _) = level(f.severity);
    let mut text = f.message.clone();
    for d in &f.details {
        text.push_str("\n- ");
        text.push_str(d);
    }
    let id = f.id.to_string();
    let mut properties = props([
        ("findingId", json!(id)),
        ("arn", json!(&*f.resource)),
        ("resourceName", json!(&*f.resource_name)),
        ("check", json!(f.check.as_str())),
        ("scope", json!(f.scope.as_str())),
        ("severity", json!(f.severity.as_str())),
        ("target", json!(target)),
    ]);
    if let Some(c) = &f.cause {
        properties.insert("followsFrom".into(), json!(c.id().to_string()));
    }
    let mut r = SarifResult::builder()
        .rule_id(f.rule)
        .kind(ResultKind::Fail)
        .level(lvl)
        .message(Message::builder().text(text).build())
        .locations(vec![location(f, account)])
        .partial_fingerprints(BTreeMap::from([(
            "primaryLocationLineHash".to_string(),
            id.clone(),
        )]))
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build();
    r.rule_index = rule_index.map(|i| i as i64);
    if let Some(s) = &f.suppressed {
        let mut extra = props([("expires", json!(s.expires.format("%Y-%m-%d").to_string()))]);
        if let Some(owner) = &s.owner {
            extra.insert("owner".into(), json!(owner));
        }
        r.suppressions = Some(vec![Suppression::builder()
            .kind(json!("external"))
            .status(json!("accepted"))
            .justification(s.reason.clone())
            .properties(PropertyBag::builder().additional_properties(extra).build())
            .build()]);
    }
    if let Some(new) = f.new {
        r.baseline_state = Some(json!(if new { "new" } else { "unchanged" }));
    }
    r
}

/// The SARIF file's text.
pub fn to_json(report: &TargetReport, rule_order: &[&'static str]) -> Result<String, String> {
    crate::untrusted::to_json_pretty(&log(report, rule_order)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_are_relative_paths_without_colons() {
        let cases = [
            (
                "arn:aws:s3:::acme-logs",
                "aws/123456789012/global/s3/acme-logs",
            ),
            (
                "arn:aws:iam::123456789012:user/ops/alice",
                "aws/123456789012/global/iam/user/ops/alice",
            ),
            (
                "arn:aws-cn:config:cn-north-1:123456789012:config-rule/config-rule-x",
                "aws-cn/123456789012/cn-north-1/config/config-rule/config-rule-x",
            ),
            (
                "arn:aws:iam::123456789012:user/<b> c",
                "aws/123456789012/global/iam/user/%3Cb%3E%20c",
            ),
            ("snapshot", "123456789012/other/snapshot"),
        ];
        for (arn, uri) in cases {
            assert_eq!(resource_uri(arn, "123456789012"), uri);
            assert!(!uri.contains(':') && !uri.starts_with('/'));
        }
    }

    /// Two checks of one resource, or two aspects of one check, are at two places:
    /// GitHub's dismiss-alerts action tells results apart by URI and line.
    #[test]
    fn results_of_one_resource_have_places_of_their_own() {
        let finding = |check, arn: &str, aspect| {
            let mut f = Finding::new(
                "R",
                check,
                arn.to_string(),
                "x",
                Status::Fail,
                Severity::High,
                "m".to_string(),
            );
            f.aspect = aspect;
            f
        };
        let (bucket, root, group) = (
            "arn:aws:s3:::b",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:group/DevOps",
        );
        let place = |f: &Finding| {
            let p = location(f, "123456789012").physical_location.unwrap();
            let uri = p.artifact_location.unwrap().uri.unwrap();
            (uri, p.region.unwrap().start_line.unwrap())
        };
        let places: Vec<(String, i64)> = [
            finding(Check::Local, bucket, None),
            finding(Check::AwsConfig, bucket, None),
            finding(Check::Deployed, root, None),
            finding(Check::Local, root, None),
            finding(Check::Setup, group, Some("Force_MFA")),
            finding(Check::Setup, group, Some("User_Source_IP_Restrictions")),
        ]
        .iter()
        .map(place)
        .collect();
        let s3 = "aws/123456789012/global/s3/b".to_string();
        let iam = "aws/123456789012/global/iam";
        assert_eq!(
            places,
            [
                (s3.clone(), 5),
                (s3, 4),
                (format!("{iam}/root"), 3),
                (format!("{iam}/root"), 5),
                (format!("{iam}/group/DevOps/Force_MFA"), 6),
                (format!("{iam}/group/DevOps/User_Source_IP_Restrictions"), 6),
            ]
        );
    }

    #[test]
    fn sarif_rule_names_are_camel_case() {
        assert_eq!(
            camel("S3_BUCKET_PUBLIC_READ_PROHIBITED"),
            "S3BucketPublicReadProhibited"
        );
        assert_eq!(camel("Force_MFA"), "ForceMfa");
    }
}
