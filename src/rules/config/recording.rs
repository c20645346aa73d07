//! Whether a region's configuration recorder records a resource type: AWS Config
//! evaluates a change-triggered rule only on configuration changes it records, so a
//! rule deployed beside a recorder that does not record its types is never evaluated.
//!
//! AWS's semantics of a recording group, by its strategy (`useOnly`):
//! - `ALL_SUPPORTED_RESOURCE_TYPES`: every supported type except the global IAM types
//!   (`AWS::IAM::User`, `Group`, `Role`, `Policy`), which it records only with
//!   `includeGlobalResourceTypes`;
//! - `INCLUSION_BY_RESOURCE_TYPES`: exactly the listed `resourceTypes`;
//! - `EXCLUSION_BY_RESOURCE_TYPES`: every supported type but the excluded ones, the
//!   global IAM types included.
//!
//! And in every case the global IAM types are recorded only in the regions where AWS
//! Config existed before February 2022 ([`GLOBAL_IAM_REGIONS`]; the later ones cannot
//! record them at all).

use crate::model::{ConfigRecorder, ConfigRegion};

/// The resource types AWS Config calls global IAM types.
pub const GLOBAL_IAM_TYPES: [&str; 4] = [
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
];

/// The regions where AWS Config can record the global IAM types: those where it was
/// available before February 2022. CloudKestrel's choice: the list of what can, not of
/// what cannot, so that a region new to this list counts as one that cannot (every
/// region added since cannot); AWS lists the others on each IAM rule's page.
pub const GLOBAL_IAM_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "me-south-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

/// Whether a recorder (or a region's recorders) records some types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    Records,
    /// The snapshot does not say (collected before CloudKestrel read recording groups).
    Unknown,
    /// Why not, in the user's words.
    Not(String),
}

fn is_global_iam(t: &str) -> bool {
    GLOBAL_IAM_TYPES.contains(&t)
}

/// Whether `recorder` in `region` records every one of `types`.
pub fn recorder_coverage(recorder: &ConfigRecorder, region: &str, types: &[&str]) -> Coverage {
    let Some(strategy) = recorder.recording_strategy.as_deref() else {
        return Coverage::Unknown;
    };
    for t in types {
        if is_global_iam(t) && !GLOBAL_IAM_REGIONS.contains(&region) {
            return Coverage::Not(format!(
                "{region} is a region where AWS Config cannot record the global IAM types such as {t} (only regions where it existed before February 2022 can)"
            ));
        }
        let recorded = match strategy {
            "ALL_SUPPORTED_RESOURCE_TYPES" => {
                !is_global_iam(t) || recorder.include_global_resource_types
            }
            "INCLUSION_BY_RESOURCE_TYPES" => recorder.resource_types.iter().any(|x| x == t),
            "EXCLUSION_BY_RESOURCE_TYPES" => {
                !recorder.excluded_resource_types.iter().any(|x| x == t)
            }
            _ => false,
        };
        if !recorded {
            let how = match strategy {
                "ALL_SUPPORTED_RESOURCE_TYPES" => {
                    "it records all supported types but not the global IAM types (includeGlobalResourceTypes is false)"
                }
                "INCLUSION_BY_RESOURCE_TYPES" => "it records only the types it lists, not this one",
                _ => "it excludes this type",
            };
            return Coverage::Not(format!(
                "recorder {} in {region} does not record {t}: {how}",
                recorder.name
            ));
        }
    }
    Coverage::Records
}

/// Whether a recording recorder of `region` records every one of `types` (the best of
/// its recorders).
pub fn region_coverage(region: &ConfigRegion, types: &[&str]) -> Coverage {
    let mut why = None;
    let mut unknown = false;
    for r in region.recorders.iter().filter(|r| r.recording) {
        match recorder_coverage(r, &region.region, types) {
            Coverage::Records => return Coverage::Records,
            Coverage::Unknown => unknown = true,
            Coverage::Not(w) => why = Some(w),
        }
    }
    if unknown {
        return Coverage::Unknown;
    }
    Coverage::Not(why.unwrap_or_else(|| format!("no recorder is recording in {}", region.region)))
}

/// What to change so that `types` are recorded, in the user's words and commands.
pub fn remedy(region: &ConfigRegion, types: &[&str]) -> String {
    let iam = types.iter().any(|t| is_global_iam(t));
    let r = &region.region;
    let name = region
        .recorders
        .first()
        .map(|x| x.name.as_str())
        .unwrap_or("default");
    if iam && !GLOBAL_IAM_REGIONS.contains(&r.as_str()) {
        return format!(
            "deploy the rule in a region that can record the global IAM types ({}, …) and record them there",
            GLOBAL_IAM_REGIONS[..4].join(", ")
        );
    }
    format!(
        "record {} with the recorder in {r}, e.g. aws configservice put-configuration-recorder --region {r} --configuration-recorder name={name},roleARN=<its role> --recording-group allSupported=true,includeGlobalResourceTypes=true (or add the types to its resourceTypes)",
        types.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(
        strategy: Option<&str>,
        global: bool,
        listed: &[&str],
        excluded: &[&str],
    ) -> ConfigRecorder {
        ConfigRecorder {
            name: "default".into(),
            role_arn: None,
            all_supported: strategy == Some("ALL_SUPPORTED_RESOURCE_TYPES"),
            include_global_resource_types: global,
            recording_strategy: strategy.map(str::to_string),
            resource_types: listed.iter().map(|s| s.to_string()).collect(),
            excluded_resource_types: excluded.iter().map(|s| s.to_string()).collect(),
            recording: true,
            last_status: None,
        }
    }

    #[test]
    fn each_strategy_records_what_aws_says() {
        let user = ["AWS::IAM::User"];
        let bucket = ["AWS::S3::Bucket"];
        let all = |g| recorder(Some("ALL_SUPPORTED_RESOURCE_TYPES"), g, &[], &[]);
        assert_eq!(
            recorder_coverage(&all(true), "us-east-1", &user),
            Coverage::Records
        );
        assert!(
            matches!(recorder_coverage(&all(false), "us-east-1", &user), Coverage::Not(w) if w.contains("includeGlobalResourceTypes"))
        );
        assert_eq!(
            recorder_coverage(&all(false), "us-east-1", &bucket),
            Coverage::Records
        );
        let incl = recorder(
            Some("INCLUSION_BY_RESOURCE_TYPES"),
            false,
            &["AWS::IAM::User"],
            &[],
        );
        assert_eq!(
            recorder_coverage(&incl, "eu-west-1", &user),
            Coverage::Records
        );
        assert!(matches!(
            recorder_coverage(&incl, "eu-west-1", &["AWS::IAM::Policy"]),
            Coverage::Not(_)
        ));
        let excl = recorder(
            Some("EXCLUSION_BY_RESOURCE_TYPES"),
            false,
            &[],
            &["AWS::IAM::Policy"],
        );
        assert_eq!(
            recorder_coverage(&excl, "eu-west-1", &user),
            Coverage::Records
        );
        assert!(matches!(
            recorder_coverage(&excl, "eu-west-1", &["AWS::IAM::Policy"]),
            Coverage::Not(_)
        ));
        // Regions that came later cannot record the global IAM types at all.
        assert!(
            matches!(recorder_coverage(&all(true), "eu-central-2", &user), Coverage::Not(w) if w.contains("February 2022"))
        );
        assert_eq!(
            recorder_coverage(&all(false), "eu-central-2", &bucket),
            Coverage::Records
        );
        assert_eq!(
            recorder_coverage(&recorder(None, true, &[], &[]), "us-east-1", &user),
            Coverage::Unknown
        );
    }
}
