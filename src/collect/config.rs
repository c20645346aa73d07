//! AWS Config, per region: recorders and their status, delivery channels, rules, and
//! the per-resource compliance results of the rules CloudKestrel audits.

use aws_sdk_config::types::ComplianceType;

use super::aws::{problem, required, to_chrono};
use crate::model::{
    ComplianceResult, ConfigRecorder, ConfigRegion, ConfigRule, DeliveryChannel, Problem, Section,
};

const OP_COMPLIANCE: &str = "config:GetComplianceDetailsByConfigRule";

/// One region's AWS Config state. Problems are returned beside the data: a region
/// whose recorders could not be read still reports its rules, and one rule whose
/// results could not be read does not hide the others'.
pub async fn collect_region(
    client: &aws_sdk_config::Client,
    region: &str,
    audited_identifiers: &[&str],
) -> (ConfigRegion, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut out = ConfigRegion {
        region: region.to_string(),
        recorders: Vec::new(),
        delivery_channels: Vec::new(),
        rules: Vec::new(),
        compliance: Vec::new(),
    };
    let in_region = |mut p: Problem| {
        p.region = Some(region.to_string());
        p
    };

    let (recorders, status, channels) = tokio::join!(
        client.describe_configuration_recorders().send(),
        client.describe_configuration_recorder_status().send(),
        client.describe_delivery_channels().send(),
    );
    match (recorders, status) {
        (Ok(r), Ok(s)) => {
            for rec in r.configuration_recorders() {
                let name = rec.name().unwrap_or("default").to_string();
                let st = s
                    .configuration_recorders_status()
                    .iter()
                    .find(|x| x.name() == Some(name.as_str()));
                out.recorders.push(ConfigRecorder {
                    role_arn: rec.role_arn().map(str::to_string),
                    all_supported: rec.recording_group().is_some_and(|g| g.all_supported()),
                    include_global_resource_types: rec
                        .recording_group()
                        .is_some_and(|g| g.include_global_resource_types()),
                    recording: st.is_some_and(|x| x.recording()),
                    last_status: st
                        .and_then(|x| x.last_status())
                        .map(|x| x.as_str().to_string()),
                    name,
                });
            }
        }
        (Err(e), _) => problems.push(in_region(problem(
            Section::ConfigRecorders,
            "config:DescribeConfigurationRecorders",
            &e,
        ))),
        (_, Err(e)) => problems.push(in_region(problem(
            Section::ConfigRecorders,
            "config:DescribeConfigurationRecorderStatus",
            &e,
        ))),
    }
    match channels {
        Ok(c) => {
            for ch in c.delivery_channels() {
                out.delivery_channels.push(DeliveryChannel {
                    name: ch.name().unwrap_or_default().to_string(),
                    s3_bucket_name: ch.s3_bucket_name().map(str::to_string),
                    sns_topic_arn: ch.sns_topic_arn().map(str::to_string),
                });
            }
        }
        Err(e) => problems.push(in_region(problem(
            Section::ConfigRecorders,
            "config:DescribeDeliveryChannels",
            &e,
        ))),
    }

    let mut pages = client.describe_config_rules().into_paginator().send();
    let mut rules_ok = true;
    'pages: while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                for r in page.config_rules() {
                    let source = r.source();
                    let name = match required(
                        r.config_rule_name(),
                        Section::ConfigRules,
                        "config:DescribeConfigRules",
                        || "a rule's name".into(),
                    ) {
                        Ok(name) => name,
                        Err(p) => {
                            problems.push(in_region(p));
                            rules_ok = false;
                            break 'pages;
                        }
                    };
                    out.rules.push(ConfigRule {
                        name: name.to_string(),
                        arn: r.config_rule_arn().map(str::to_string),
                        source_owner: source
                            .map(|s| s.owner().as_str().to_string())
                            .unwrap_or_default(),
                        source_identifier: source
                            .and_then(|s| s.source_identifier())
                            .unwrap_or_default()
                            .to_string(),
                        input_parameters: r.input_parameters().map(str::to_string),
                        maximum_execution_frequency: r
                            .maximum_execution_frequency()
                            .map(|f| f.as_str().to_string()),
                        state: r.config_rule_state().map(|s| s.as_str().to_string()),
                    });
                }
            }
            Err(e) => {
                problems.push(in_region(problem(
                    Section::ConfigRules,
                    "config:DescribeConfigRules",
                    &e,
                )));
                rules_ok = false;
                break;
            }
        }
    }
    if !rules_ok {
        out.rules.clear();
        return (out, problems);
    }

    // Results only for the rules CloudKestrel audits, all three evaluation values
    // asked for explicitly (the default of the filter is not documented).
    let wanted: Vec<String> = out
        .rules
        .iter()
        .filter(|r| {
            r.source_owner == "AWS" && audited_identifiers.contains(&r.source_identifier.as_str())
        })
        .map(|r| r.name.clone())
        .collect();
    for name in wanted {
        let mut pages = client
            .get_compliance_details_by_config_rule()
            .config_rule_name(&name)
            .compliance_types(ComplianceType::Compliant)
            .compliance_types(ComplianceType::NonCompliant)
            .compliance_types(ComplianceType::NotApplicable)
            .limit(100)
            .into_paginator()
            .send();
        let mut results = Vec::new();
        let mut failed = None;
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => {
                    let page_results: Result<Vec<ComplianceResult>, Problem> = page
                        .evaluation_results()
                        .iter()
                        .map(|r| {
                            let q = r
                                .evaluation_result_identifier()
                                .and_then(|i| i.evaluation_result_qualifier());
                            let need = |value: Option<&str>, what: &str| {
                                required(value, Section::ConfigCompliance, OP_COMPLIANCE, || {
                                    format!("the {what} of an evaluation result of {name}")
                                })
                                .map(str::to_string)
                            };
                            Ok(ComplianceResult {
                                config_rule_name: name.clone(),
                                resource_type: need(
                                    q.and_then(|q| q.resource_type()),
                                    "resource type",
                                )?,
                                resource_id: need(q.and_then(|q| q.resource_id()), "resource id")?,
                                compliance: need(
                                    r.compliance_type().map(|c| c.as_str()),
                                    "compliance",
                                )?,
                                recorded_at: r.result_recorded_time().and_then(to_chrono),
                                annotation: r.annotation().map(str::to_string),
                            })
                        })
                        .collect();
                    match page_results {
                        Ok(page_results) => results.extend(page_results),
                        Err(p) => {
                            failed = Some(p);
                            break;
                        }
                    }
                }
                Err(e) => {
                    failed = Some(problem(Section::ConfigCompliance, OP_COMPLIANCE, &e));
                    break;
                }
            }
        }
        match failed {
            // Partial results of a rule are dropped: an incomplete list must not pass.
            Some(mut p) => {
                p.resource = Some(name.clone());
                problems.push(in_region(p));
            }
            None => out.compliance.extend(results),
        }
    }
    (out, problems)
}
