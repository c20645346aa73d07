//! AWS Config, per region: recorders and their status, delivery channels, rules, and
//! the per-resource compliance results of the rules CloudKestrel audits.

use aws_sdk_config::types::ComplianceType;

use super::aws::{malformed, problem, required, to_chrono, PageTrail};
use crate::model::{
    ComplianceResult, ConfigRecorder, ConfigRegion, ConfigRule, DeliveryChannel, Problem, Section,
};

const OP_COMPLIANCE: &str = "config:GetComplianceDetailsByConfigRule";
const OP_RECORDERS: &str = "config:DescribeConfigurationRecorders";
const OP_STATUS: &str = "config:DescribeConfigurationRecorderStatus";
const OP_CHANNELS: &str = "config:DescribeDeliveryChannels";
const OP_RULES: &str = "config:DescribeConfigRules";

/// The recorders of a region with their status. A recorder or status without its name,
/// or a recorder without its recording group, is a malformed answer: read as a default,
/// it could count a recorder that records nothing as one that records everything.
fn read_recorders(
    r: &aws_sdk_config::operation::describe_configuration_recorders::DescribeConfigurationRecordersOutput,
    s: &aws_sdk_config::operation::describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput,
) -> Result<Vec<ConfigRecorder>, Problem> {
    let statuses = s
        .configuration_recorders_status()
        .iter()
        .map(|x| {
            required(x.name(), Section::ConfigRecorders, OP_STATUS, || {
                "the name of a recorder status".into()
            })
            .map(|name| (name, x))
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    r.configuration_recorders()
        .iter()
        .map(|rec| {
            let name = required(rec.name(), Section::ConfigRecorders, OP_RECORDERS, || {
                "the name of a configuration recorder".into()
            })?;
            let group = required(
                rec.recording_group(),
                Section::ConfigRecorders,
                OP_RECORDERS,
                || format!("the recordingGroup of recorder {name}"),
            )?;
            let st = statuses.iter().find(|(n, _)| *n == name).map(|(_, x)| x);
            // The older API has no strategy: allSupported records everything (IAM types
            // as includeGlobalResourceTypes says), otherwise the listed types.
            let strategy = match group.recording_strategy().and_then(|s| s.use_only()) {
                Some(s) => s.as_str().to_string(),
                None if group.all_supported() => "ALL_SUPPORTED_RESOURCE_TYPES".to_string(),
                None => "INCLUSION_BY_RESOURCE_TYPES".to_string(),
            };
            if let Err(e) = ConfigRecorder::RECORDING_STRATEGIES.check(&strategy) {
                return Err(malformed(
                    Section::ConfigRecorders,
                    OP_RECORDERS,
                    format!("recorder {name}: {e}"),
                ));
            }
            let types = |list: &[aws_sdk_config::types::ResourceType]| {
                list.iter()
                    .map(|t| t.as_str().to_string())
                    .collect::<Vec<_>>()
            };
            Ok(ConfigRecorder {
                role_arn: rec.role_arn().map(str::to_string),
                all_supported: group.all_supported(),
                include_global_resource_types: group.include_global_resource_types(),
                recording_strategy: Some(strategy),
                resource_types: types(group.resource_types()),
                excluded_resource_types: types(
                    group
                        .exclusion_by_resource_types()
                        .map(|e| e.resource_types())
                        .unwrap_or_default(),
                ),
                recording: st.is_some_and(|x| x.recording()),
                last_status: st
                    .and_then(|x| x.last_status())
                    .map(|x| x.as_str().to_string()),
                name: name.to_string(),
            })
        })
        .collect()
}

/// One Config rule as DescribeConfigRules gives it. Its name, source and state are in
/// every answer AWS gives; an AWS managed rule also names its SourceIdentifier (a
/// custom policy rule has none).
fn read_rule(r: &aws_sdk_config::types::ConfigRule) -> Result<ConfigRule, Problem> {
    let need = |v: Option<&str>, what: &dyn Fn() -> String| {
        required(v, Section::ConfigRules, OP_RULES, what).map(str::to_string)
    };
    let name = need(r.config_rule_name(), &|| "a rule's name".into())?;
    let source = required(r.source(), Section::ConfigRules, OP_RULES, || {
        format!("the Source of rule {name}")
    })?;
    let owner = source.owner().as_str().to_string();
    let source_identifier = match source.source_identifier() {
        Some(id) => id.to_string(),
        None if owner != "AWS" && !owner.is_empty() => String::new(),
        None => {
            return Err(malformed(
                Section::ConfigRules,
                OP_RULES,
                format!("rule {name} has no Source.SourceIdentifier (owner {owner:?})"),
            ))
        }
    };
    let state = need(r.config_rule_state().map(|s| s.as_str()), &|| {
        format!("the ConfigRuleState of rule {name}")
    })?;
    // Values outside what CloudKestrel knows (an SDK `Unknown`) are malformed answers:
    // the snapshot stores only known ones (model/domain.rs).
    let frequency = r
        .maximum_execution_frequency()
        .map(|f| f.as_str().to_string());
    let known = ConfigRule::SOURCE_OWNERS
        .check(&owner)
        .and_then(|()| ConfigRule::STATES.check(&state))
        .and_then(|()| {
            frequency
                .as_deref()
                .map_or(Ok(()), |f| ConfigRule::EXECUTION_FREQUENCIES.check(f))
        });
    if let Err(e) = known {
        return Err(malformed(
            Section::ConfigRules,
            OP_RULES,
            format!("rule {name}: {e}"),
        ));
    }
    Ok(ConfigRule {
        arn: r.config_rule_arn().map(str::to_string),
        source_owner: owner,
        source_identifier,
        input_parameters: r.input_parameters().map(str::to_string),
        maximum_execution_frequency: frequency,
        state: Some(state),
        name,
    })
}

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
    let recorders = recorders
        .map_err(|e| problem(Section::ConfigRecorders, OP_RECORDERS, &e))
        .and_then(|r| {
            let status = status.map_err(|e| problem(Section::ConfigRecorders, OP_STATUS, &e))?;
            read_recorders(&r, &status)
        });
    match recorders {
        Ok(r) => out.recorders = r,
        Err(p) => problems.push(in_region(p)),
    }
    let channels = channels
        .map_err(|e| problem(Section::ConfigRecorders, OP_CHANNELS, &e))
        .and_then(|c| {
            c.delivery_channels()
                .iter()
                .map(|ch| {
                    let need = |v: Option<&str>, what: &str| {
                        required(v, Section::ConfigRecorders, OP_CHANNELS, || {
                            format!("the {what} of a delivery channel")
                        })
                        .map(str::to_string)
                    };
                    Ok(DeliveryChannel {
                        name: need(ch.name(), "name")?,
                        s3_bucket_name: Some(need(ch.s3_bucket_name(), "s3BucketName")?),
                        sns_topic_arn: ch.sns_topic_arn().map(str::to_string),
                    })
                })
                .collect::<Result<Vec<_>, Problem>>()
        });
    match channels {
        Ok(c) => out.delivery_channels = c,
        Err(p) => problems.push(in_region(p)),
    }

    let mut pages = client.describe_config_rules().into_paginator().send();
    let mut rules_ok = true;
    let mut trail = PageTrail::default();
    while let Some(page) = pages.next().await {
        let read = page
            .map_err(|e| problem(Section::ConfigRules, OP_RULES, &e))
            .and_then(|page| {
                trail
                    .token(page.next_token())
                    .map_err(|e| malformed(Section::ConfigRules, OP_RULES, e))?;
                page.config_rules()
                    .iter()
                    .map(read_rule)
                    .collect::<Result<Vec<_>, _>>()
            });
        match read {
            Ok(rules) => out.rules.extend(rules),
            Err(p) => {
                problems.push(in_region(p));
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
        let mut trail = PageTrail::default();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => {
                    if let Err(e) = trail.token(page.next_token()) {
                        failed = Some(malformed(Section::ConfigCompliance, OP_COMPLIANCE, e));
                        break;
                    }
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
                                    r.compliance_type()
                                        .map(|c| c.as_str())
                                        .filter(|c| ComplianceResult::COMPLIANCE.contains(c)),
                                    "compliance (one of COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE)",
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
