//! `apply`: add the AWS Config managed rules that targets.json marks `AddIfMissing` and
//! the account lacks, as a reviewed plan.
//!
//! The plan is made from the account's state (live, or from a snapshot), printed, and
//! carried out only after confirmation. Apply never deletes or modifies a rule: rules
//! already present are reported, with any parameter difference, and left alone. It
//! never creates the AWS Config prerequisites either (recorder, delivery channel, role):
//! those need choices (bucket, role, what to record) that are the account owner's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_config::types::{
    ConfigRule as SdkRule, MaximumExecutionFrequency, Owner, Scope, Source,
};

use crate::collect::aws::problem;
use crate::model::{Account, ConfigRegion, Problem, Section};
use crate::rules::config::recording;
use crate::rules::{Kind, Trigger};
use crate::targets::{parse_input_parameters, RuleSpec, Target};
use crate::untrusted::Escaped;

/// A managed rule to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub region: String,
    /// The AWS default name, e.g. `iam-user-mfa-enabled`.
    pub rule_name: String,
    pub source_identifier: String,
    /// Sent as InputParameters (a JSON object of strings); empty = none.
    pub input_parameters: BTreeMap<String, String>,
    /// `TwentyFour_Hours` for periodic rules.
    pub maximum_execution_frequency: Option<&'static str>,
    /// The resource types that trigger a change-triggered rule.
    pub scope: Vec<&'static str>,
    /// The rule as named in targets.json.
    pub configured_as: String,
}

impl Addition {
    pub fn input_parameters_json(&self) -> Option<String> {
        (!self.input_parameters.is_empty()).then(|| {
            serde_json::to_string(&self.input_parameters).expect("a map of strings serialises")
        })
    }
}

/// A rule that is already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    pub region: String,
    pub rule_name: String,
    pub source_identifier: String,
    /// (deployed, targets.json) when the parameters differ.
    pub parameters_differ: Option<(BTreeMap<String, String>, BTreeMap<String, String>)>,
}

/// What apply will do for one target.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub target: String,
    pub account_id: String,
    pub additions: Vec<Addition>,
    pub present: Vec<Present>,
    /// Per region, what AWS Config lacks before rules can be added there.
    pub missing_prerequisites: Vec<String>,
    /// What could not be read; the target cannot be handled.
    pub problems: Vec<Problem>,
    /// Rules that would be added under a name another rule already has: PutConfigRule
    /// would overwrite that rule, which apply never does.
    pub conflicts: Vec<String>,
}

impl Plan {
    /// Whether the plan can be carried out (prerequisites present, state readable).
    pub fn blocked(&self) -> bool {
        !self.problems.is_empty()
            || !self.missing_prerequisites.is_empty()
            || !self.conflicts.is_empty()
    }
}

fn deployed_in<'a>(region: &'a ConfigRegion, id: &str) -> Option<&'a crate::model::ConfigRule> {
    region.rules.iter().find(|r| r.implements(id))
}

/// How to create what AWS Config lacks in a region, in the user's words and commands.
fn prerequisites(region: &ConfigRegion, partition: &str, account_id: &str) -> Option<String> {
    // Escaped as built: the text spans lines, and names come from the account.
    let r = Escaped(&region.region);
    let account_id = Escaped(account_id);
    let mut steps = Vec::new();
    if region.recorders.is_empty() {
        steps.push(format!(
            "create a configuration recorder (choose its IAM role and what it records), e.g.\n      \
             aws iam create-service-linked-role --aws-service-name config.amazonaws.com\n      \
             aws configservice put-configuration-recorder --region {r} --configuration-recorder \
             name=default,roleARN=arn:{partition}:iam::{account_id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig \
             --recording-group allSupported=true,includeGlobalResourceTypes=true"
        ));
    }
    if region.delivery_channels.is_empty() {
        steps.push(format!(
            "create a delivery channel (choose the S3 bucket AWS Config writes to), e.g.\n      \
             aws configservice put-delivery-channel --region {r} --delivery-channel name=default,s3BucketName=YOUR-BUCKET"
        ));
    }
    if !region.recorders.iter().any(|x| x.recording) {
        let name = region
            .recorders
            .first()
            .map(|x| x.name.as_str())
            .unwrap_or("default");
        let name = Escaped(name);
        steps.push(format!(
            "start recording:\n      aws configservice start-configuration-recorder --region {r} --configuration-recorder-name {name}"
        ));
    }
    (!steps.is_empty()).then(|| {
        format!(
            "{r}: AWS Config refuses managed rules without a recording configuration recorder; CloudKestrel will not create one for you:\n    - {}",
            steps.join("\n    - ")
        )
    })
}

fn addition(spec: &RuleSpec, region: &str) -> Addition {
    let meta = spec.rule.meta();
    let (freq, scope): (Option<&'static str>, Vec<&'static str>) = match meta.trigger {
        Trigger::Periodic => (Some("TwentyFour_Hours"), Vec::new()),
        Trigger::Changes(types) => (None, types.to_vec()),
        Trigger::ChangesAndPeriodic(types) => (Some("TwentyFour_Hours"), types.to_vec()),
        Trigger::NotConfig => (None, Vec::new()),
    };
    Addition {
        region: region.to_string(),
        rule_name: meta.aws_rule_name.unwrap_or(meta.name).to_string(),
        source_identifier: meta.source_identifier.unwrap_or(meta.name).to_string(),
        input_parameters: spec.effective_parameters(),
        maximum_execution_frequency: freq,
        scope,
        configured_as: meta.name.to_string(),
    }
}

/// The plan for a target, from its AWS Config state. Global (IAM) rules are added once,
/// in the target's first region, unless present in any region (AWS advises deploying
/// them in one region only); regional (S3) rules in every region that lacks them.
pub fn plan(target: &Target, account: &Account) -> Plan {
    let mut plan = Plan {
        target: target.name.clone(),
        account_id: account.metadata.account_id.clone(),
        problems: account
            .problems
            .iter()
            .filter(|p| {
                matches!(
                    p.section,
                    Section::Identity | Section::ConfigRecorders | Section::ConfigRules
                )
            })
            .cloned()
            .collect(),
        ..Plan::default()
    };
    let regions = &account.config.regions;
    for spec in target
        .rules
        .iter()
        .filter(|s| s.rule.meta().kind == Kind::Config)
    {
        let meta = spec.rule.meta();
        let id = meta.source_identifier.unwrap_or(meta.name);
        let present: Vec<Present> = regions
            .iter()
            .filter_map(|r| deployed_in(r, id).map(|d| (r, d)))
            .map(|(r, d)| {
                let have = parse_input_parameters(d.input_parameters.as_deref());
                Present {
                    region: r.region.clone(),
                    rule_name: d.name.clone(),
                    source_identifier: id.to_string(),
                    parameters_differ: (!spec.same_parameters(&have))
                        .then(|| (have, spec.effective_parameters())),
                }
            })
            .collect();
        let missing_regions: Vec<&ConfigRegion> = if meta.global {
            if present.is_empty() {
                // A change-triggered rule goes where its types are recorded, if anywhere.
                let recorded = |r: &&ConfigRegion| match meta.trigger {
                    Trigger::Changes(types) => {
                        recording::region_coverage(r, types) == recording::Coverage::Records
                    }
                    _ => true,
                };
                regions
                    .iter()
                    .find(recorded)
                    .or(regions.first())
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            }
        } else {
            regions
                .iter()
                .filter(|r| deployed_in(r, id).is_none())
                .collect()
        };
        plan.present.extend(present);
        if !spec.add_if_missing {
            continue;
        }
        for r in missing_regions {
            let a = addition(spec, &r.region);
            match r.rules.iter().find(|x| x.name == a.rule_name) {
                Some(other) => plan.conflicts.push(format!(
                    "{}: a rule named {} already exists there ({} {}), so {} cannot be added under that name without overwriting it; rename or remove that rule",
                    r.region, a.rule_name, other.source_owner, other.source_identifier, a.source_identifier
                )),
                None => plan.additions.push(a),
            }
        }
    }
    for r in regions
        .iter()
        .filter(|r| plan.additions.iter().any(|a| a.region == r.region))
    {
        if let Some(p) = prerequisites(r, account.metadata.partition(), &plan.account_id) {
            plan.missing_prerequisites.push(p);
            continue;
        }
        // A change-triggered rule whose types the recorder does not record would never
        // be evaluated: changing the recording is the account owner's choice.
        for a in plan.additions.iter().filter(|a| a.region == r.region) {
            if a.maximum_execution_frequency.is_some() || a.scope.is_empty() {
                continue;
            }
            if let recording::Coverage::Not(why) = recording::region_coverage(r, &a.scope) {
                plan.missing_prerequisites.push(format!(
                    "{}: {} is change-triggered but {why}, so AWS Config would never evaluate it; CloudKestrel will not change the recorder for you: {}",
                    r.region,
                    a.rule_name,
                    recording::remedy(r, &a.scope)
                ));
            }
        }
    }
    plan
}

/// The plan as the user reads it.
pub fn describe(plan: &Plan) -> String {
    // Every line carries names from the account (rules, recorders, regions, AWS error
    // messages): each is escaped for the terminal as a whole, so that none can break
    // the line or drive the terminal. The prerequisites span lines: escaped as built.
    fn line(s: &mut String, args: std::fmt::Arguments<'_>) {
        let _ = writeln!(s, "{}", Escaped(args));
    }
    let mut s = String::new();
    line(
        &mut s,
        format_args!("target {} (account {})", plan.target, plan.account_id),
    );
    for p in &plan.problems {
        line(
            &mut s,
            format_args!(
                "  cannot read the account: {} failed ({}): {}",
                p.operation, p.error_code, p.message
            ),
        );
    }
    for c in &plan.conflicts {
        line(&mut s, format_args!("  conflict in {c}"));
    }
    for p in &plan.missing_prerequisites {
        let _ = writeln!(s, "  missing prerequisite in {p}");
    }
    if plan.additions.is_empty() {
        line(&mut s, format_args!("  nothing to add"));
    }
    for a in &plan.additions {
        line(
            &mut s,
            format_args!(
                "  + add {} in {} (SourceIdentifier {}, InputParameters {}{}{})",
                a.rule_name,
                a.region,
                a.source_identifier,
                a.input_parameters_json().unwrap_or_else(|| "none".into()),
                a.maximum_execution_frequency
                    .map(|f| format!(", MaximumExecutionFrequency {f}"))
                    .unwrap_or_default(),
                if a.scope.is_empty() {
                    String::new()
                } else {
                    format!(", Scope {}", a.scope.join(", "))
                }
            ),
        );
    }
    for p in &plan.present {
        match &p.parameters_differ {
            None => line(&mut s, format_args!(
                "  = {} in {} already present ({})",
                p.rule_name, p.region, p.source_identifier
            )),
            Some((have, want)) => line(&mut s, format_args!(
                "  ≠ {} in {} already present with parameters {:?}; targets.json says {:?} (reported, not changed)",
                p.rule_name, p.region, have, want
            )),
        };
    }
    s
}

/// Adds one rule. An AWS refusal names the rule and the parameters it was given.
pub async fn put_rule(client: &aws_sdk_config::Client, a: &Addition) -> Result<(), String> {
    let source = Source::builder()
        .owner(Owner::Aws)
        .source_identifier(&a.source_identifier)
        .build()
        .map_err(|e| e.to_string())?;
    let mut rule = SdkRule::builder()
        .config_rule_name(&a.rule_name)
        .description(format!(
            "Added by CloudKestrel ({} in targets.json)",
            a.configured_as
        ))
        .source(source)
        .set_input_parameters(a.input_parameters_json());
    if let Some(f) = a.maximum_execution_frequency {
        rule = rule.maximum_execution_frequency(MaximumExecutionFrequency::from(f));
    }
    if !a.scope.is_empty() {
        rule = rule.scope(
            Scope::builder()
                .set_compliance_resource_types(Some(
                    a.scope.iter().map(|t| t.to_string()).collect(),
                ))
                .build(),
        );
    }
    client
        .put_config_rule()
        .config_rule(rule.build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            let p = problem(Section::ConfigRules, "config:PutConfigRule", &e);
            format!(
                "AWS Config refused to add {} ({}) in {} with InputParameters {}: {}: {}",
                a.rule_name,
                a.configured_as,
                a.region,
                a.input_parameters_json().unwrap_or_else(|| "none".into()),
                p.error_code,
                p.message
            )
        })
}

/// Reads what a plan needs, live: the caller's identity and each region's AWS Config
/// recorders, delivery channels and rules (no compliance results, no IAM, no S3).
pub async fn read_state(
    target: &Target,
    conn: &crate::collect::Connection,
) -> (Account, Option<crate::collect::aws::Clients>) {
    let (mut account, clients) = crate::collect::connect(target, conn).await;
    let Some(clients) = clients else {
        return (account, None);
    };
    for r in account.metadata.regions.clone() {
        let (region, problems) =
            crate::collect::config::collect_region(&clients.config(&r), &r, &[]).await;
        account.config.regions.push(region);
        account.problems.extend(problems);
    }
    (account, Some(clients))
}
