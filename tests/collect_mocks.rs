//! Collection paths that moto cannot emulate, with the SDK's offline mocks: AWS Config
//! compliance results, the root row of the credential report, pagination, and every
//! kind of failure (AccessDenied, throttling after retries, malformed answers) on each
//! collected section. Each failure must become a Problem of the right section, which
//! evaluate turns into `error` (tests/problems.rs), never an empty list that passes.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

use cloudkestrel::collect::{config, iam, s3};
use cloudkestrel::model::{Problem, Section};

fn denied() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("AccessDenied")
        .message("not authorized for the test")
        .build()
}

fn throttled() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("Throttling")
        .message("Rate exceeded")
        .build()
}

fn garbage() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(200).unwrap(),
        SdkBody::from("<<< this is not what the API returns"),
    )
}

fn fast_retries(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// The one problem collection reported, checked to be of `section`, with AWS's error
/// `code`, about `resource` (a bucket, a Config rule).
fn only_problem<'a>(
    problems: &'a [Problem],
    section: Section,
    code: &str,
    resource: &str,
) -> &'a Problem {
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!((p.section, p.error_code.as_str()), (section, code));
    assert_eq!(p.resource.as_deref(), Some(resource));
    p
}

// ---- STS --------------------------------------------------------------------------

#[tokio::test]
async fn identity_access_denied_is_an_identity_problem() {
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .then_error(|| GetCallerIdentityError::generic(denied()));
    let client = mock_client!(aws_sdk_sts, [&rule]);
    let p = iam::collect_identity(&client).await.unwrap_err();
    assert_eq!(p.section, Section::Identity);
    assert_eq!(p.error_code, "AccessDenied");
    assert_eq!(p.operation, "sts:GetCallerIdentity");
}

// ---- IAM --------------------------------------------------------------------------

mod gaad {
    use super::*;
    use aws_sdk_iam::operation::get_account_authorization_details::{
        GetAccountAuthorizationDetailsError as E, GetAccountAuthorizationDetailsOutput as O,
    };
    use aws_sdk_iam::types::{ManagedPolicyDetail, PolicyVersion, UserDetail};

    /// A page as IAM writes one: all four lists (empty ones included), the last page.
    fn page() -> aws_sdk_iam::operation::get_account_authorization_details::builders::GetAccountAuthorizationDetailsOutputBuilder{
        O::builder()
            .set_user_detail_list(Some(Vec::new()))
            .set_group_detail_list(Some(Vec::new()))
            .set_role_detail_list(Some(Vec::new()))
            .set_policies(Some(Vec::new()))
            .is_truncated(false)
    }

    fn user(name: &str) -> UserDetail {
        UserDetail::builder()
            .user_name(name)
            .arn(format!("arn:aws:iam::111122223333:user/{name}"))
            .user_id(format!("AIDA{}", name.to_uppercase()))
            .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .group_list("DevOps")
            .build()
    }

    #[tokio::test]
    async fn follows_every_page_and_decodes_documents() {
        let policy = ManagedPolicyDetail::builder()
            .arn("arn:aws:iam::111122223333:policy/Force_MFA")
            .default_version_id("v2")
            .policy_version_list(
                PolicyVersion::builder()
                    .version_id("v2")
                    .is_default_version(true)
                    // Real IAM URL-encodes documents (RFC 3986).
                    .document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D")
                    .build(),
            )
            .build();
        let rule = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .sequence()
            .output(|| {
                page()
                    .user_detail_list(user("alice"))
                    .is_truncated(true)
                    .marker("m1")
                    .build()
            })
            .output(move || {
                page()
                    .user_detail_list(user("bob"))
                    .policies(policy.clone())
                    .is_truncated(false)
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&rule]);
        let (iam_data, unreadable) = iam::collect_authorization_details(&client).await.unwrap();
        assert!(unreadable.is_empty(), "{unreadable:?}");
        assert_eq!(
            iam_data
                .users
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>(),
            ["alice", "bob"]
        );
        assert_eq!(iam_data.users[0].groups, ["DevOps"]);
        let p = &iam_data.policies[0];
        assert_eq!(
            p.name, "Force_MFA",
            "the name comes from the ARN when IAM leaves it out"
        );
        assert_eq!(p.default_document().unwrap()["Version"], "2012-10-17");
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_failing_second_page_is_a_problem_not_a_short_list() {
        let rule = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .sequence()
            .output(|| {
                page()
                    .user_detail_list(user("alice"))
                    .is_truncated(true)
                    .marker("m1")
                    .build()
            })
            .error(|| E::generic(throttled()))
            .times(3)
            .build();
        let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&rule], |c| c
            .retry_config(fast_retries(3)));
        let p = iam::collect_authorization_details(&client)
            .await
            .unwrap_err();
        assert_eq!(p.section, Section::IamAuthorization);
        assert_eq!(p.error_code, "Throttling");
        assert_eq!(
            rule.num_calls(),
            4,
            "one good page, then the SDK's three attempts"
        );
    }

    /// A page that says the list goes on without a marker, or repeats the last marker
    /// (the SDK's paginator would stop there quietly), is a malformed answer.
    #[tokio::test]
    async fn lists_that_do_not_end_as_iam_says_are_malformed() {
        for second in [
            page().is_truncated(true).build(),
            page().is_truncated(true).marker("m1").build(),
            page().is_truncated(false).marker("m9").build(),
        ] {
            let rule = mock!(aws_sdk_iam::Client::get_account_authorization_details)
                .sequence()
                .output(|| {
                    page()
                        .user_detail_list(user("alice"))
                        .is_truncated(true)
                        .marker("m1")
                        .build()
                })
                .output(move || second.clone())
                .build();
            let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&rule]);
            let p = iam::collect_authorization_details(&client)
                .await
                .expect_err("a list that does not end as IAM says");
            assert_eq!(p.error_code, "MalformedResponse", "{p:?}");
        }
    }

    #[tokio::test]
    async fn access_denied_and_malformed_answers_are_problems() {
        let rule = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .then_error(|| E::generic(denied()));
        let client = mock_client!(aws_sdk_iam, [&rule]);
        let p = iam::collect_authorization_details(&client)
            .await
            .unwrap_err();
        assert_eq!(
            (p.section, p.error_code.as_str()),
            (Section::IamAuthorization, "AccessDenied")
        );

        let rule = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .then_http_response(garbage);
        let client = mock_client!(aws_sdk_iam, [&rule]);
        let p = iam::collect_authorization_details(&client)
            .await
            .unwrap_err();
        assert_eq!(p.section, Section::IamAuthorization);

        // A policy document that is not JSON: a problem of that policy (the document is
        // kept as null), not of the whole section.
        let rule =
            mock!(aws_sdk_iam::Client::get_account_authorization_details).then_output(|| {
                page()
                    .policies(
                        ManagedPolicyDetail::builder()
                            .arn("arn:aws:iam::111122223333:policy/x")
                            .default_version_id("v1")
                            .policy_version_list(
                                PolicyVersion::builder()
                                    .version_id("v1")
                                    .document("%7Bnot json")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_iam, [&rule]);
        let (iam_data, unreadable) = iam::collect_authorization_details(&client).await.unwrap();
        let p = only_problem(
            &unreadable,
            Section::IamAuthorization,
            "InvalidPolicyDocument",
            "arn:aws:iam::111122223333:policy/x",
        );
        assert!(p.message.contains("not valid JSON"), "{p:?}");
        assert_eq!(
            iam_data.policies[0].default_document(),
            Some(&serde_json::Value::Null)
        );
    }

    /// A name, an ARN or an attached policy's ARN missing from the answer is a
    /// malformed answer: an empty name, or a dropped attachment that makes a user look
    /// policy-free, could pass a rule.
    #[tokio::test]
    async fn missing_names_and_arns_are_malformed_answers() {
        use aws_sdk_iam::types::AttachedPolicy;
        let no_arn_attachment = UserDetail::builder()
            .user_name("alice")
            .arn("arn:aws:iam::111122223333:user/alice")
            .user_id("AIDAALICE")
            .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .attached_managed_policies(AttachedPolicy::builder().policy_name("Admin").build())
            .build();
        let no_name = UserDetail::builder()
            .arn("arn:aws:iam::111122223333:user/x")
            .user_id("AIDAX")
            .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .build();
        for (case, user) in [
            ("attachment without ARN", no_arn_attachment),
            ("user without name", no_name),
        ] {
            let rule = mock!(aws_sdk_iam::Client::get_account_authorization_details)
                .then_output(move || page().user_detail_list(user.clone()).build());
            let client = mock_client!(aws_sdk_iam, [&rule]);
            let p = iam::collect_authorization_details(&client)
                .await
                .expect_err(case);
            assert_eq!(
                (p.section, p.error_code.as_str()),
                (Section::IamAuthorization, "MalformedResponse"),
                "{case}"
            );
        }
    }
}

mod credential_report {
    use super::*;
    use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput as Gen;
    use aws_sdk_iam::operation::get_credential_report::{
        GetCredentialReportError, GetCredentialReportOutput as Get,
    };
    use aws_sdk_iam::types::ReportStateType;

    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2019-05-01T00:00:00+00:00,not_supported,2026-06-01T12:00:00+00:00,not_supported,not_supported,true,true,2019-05-02T00:00:00+00:00,2026-11-01T00:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
bob,arn:aws:iam::111122223333:user/bob,2025-01-01T00:00:00+00:00,true,no_information,2025-01-01T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

    #[tokio::test]
    async fn waits_for_the_report_and_keeps_the_root_row() {
        let generate = mock!(aws_sdk_iam::Client::generate_credential_report)
            .sequence()
            .output(|| Gen::builder().state(ReportStateType::Started).build())
            .output(|| Gen::builder().state(ReportStateType::Inprogress).build())
            .output(|| Gen::builder().state(ReportStateType::Complete).build())
            .build();
        let get = mock!(aws_sdk_iam::Client::get_credential_report).then_output(|| {
            Get::builder()
                .content(aws_smithy_types::Blob::new(REPORT))
                .report_format(aws_sdk_iam::types::ReportFormatType::TextCsv)
                .generated_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .build()
        });
        let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
        let rows = iam::collect_credential_report(&client).await.unwrap();
        assert_eq!(generate.num_calls(), 3);
        let root = rows
            .iter()
            .find(|r| r.is_root())
            .expect("the root row is kept");
        assert!(root.access_key_1.as_ref().unwrap().active);
        assert!(rows
            .iter()
            .any(|r| r.user == "bob" && r.password_enabled && !r.mfa_active));
    }

    #[tokio::test]
    async fn failures_are_credential_report_problems() {
        let generate = mock!(aws_sdk_iam::Client::generate_credential_report)
            .then_output(|| Gen::builder().state(ReportStateType::Complete).build());
        let get = mock!(aws_sdk_iam::Client::get_credential_report)
            .then_error(|| GetCredentialReportError::generic(denied()));
        let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
        let p = iam::collect_credential_report(&client).await.unwrap_err();
        assert_eq!(
            (p.section, p.error_code.as_str()),
            (Section::IamCredentialReport, "AccessDenied")
        );

        let get = mock!(aws_sdk_iam::Client::get_credential_report).then_output(|| {
            Get::builder()
                .content(aws_smithy_types::Blob::new("user,arn\nx,y\n"))
                .build()
        });
        let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
        let p = iam::collect_credential_report(&client).await.unwrap_err();
        assert_eq!(
            (p.section, p.error_code.as_str()),
            (Section::IamCredentialReport, "MalformedResponse")
        );
    }
}

#[tokio::test]
async fn summary_password_policy_and_mfa_devices() {
    use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyError;
    use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryError;
    use aws_sdk_iam::operation::list_virtual_mfa_devices::ListVirtualMFADevicesError;
    use aws_sdk_iam::types::error::NoSuchEntityException;

    // No password policy is data, not an error.
    let none = mock!(aws_sdk_iam::Client::get_account_password_policy).then_error(|| {
        GetAccountPasswordPolicyError::NoSuchEntityException(
            NoSuchEntityException::builder().message("none").build(),
        )
    });
    let client = mock_client!(aws_sdk_iam, [&none]);
    assert_eq!(iam::collect_password_policy(&client).await.unwrap(), None);

    let rule = mock!(aws_sdk_iam::Client::get_account_password_policy)
        .then_error(|| GetAccountPasswordPolicyError::generic(denied()));
    let client = mock_client!(aws_sdk_iam, [&rule]);
    assert_eq!(
        iam::collect_password_policy(&client)
            .await
            .unwrap_err()
            .section,
        Section::IamPasswordPolicy
    );

    let rule = mock!(aws_sdk_iam::Client::get_account_summary)
        .then_error(|| GetAccountSummaryError::generic(throttled()));
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(fast_retries(2)));
    let p = iam::collect_account_summary(&client).await.unwrap_err();
    assert_eq!(
        (p.section, p.error_code.as_str()),
        (Section::IamAccountSummary, "Throttling")
    );
    assert_eq!(rule.num_calls(), 2);

    let rule = mock!(aws_sdk_iam::Client::list_virtual_mfa_devices)
        .then_error(|| ListVirtualMFADevicesError::generic(denied()));
    let client = mock_client!(aws_sdk_iam, [&rule]);
    assert_eq!(
        iam::collect_virtual_mfa(&client).await.unwrap_err().section,
        Section::IamVirtualMfa
    );
}

// ---- AWS Config -------------------------------------------------------------------

mod aws_config_region {
    use super::*;
    use aws_sdk_config::operation::describe_config_rules::{
        DescribeConfigRulesError, DescribeConfigRulesOutput,
    };
    use aws_sdk_config::operation::describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput;
    use aws_sdk_config::operation::describe_configuration_recorders::DescribeConfigurationRecordersOutput;
    use aws_sdk_config::operation::describe_delivery_channels::DescribeDeliveryChannelsOutput;
    use aws_sdk_config::operation::get_compliance_details_by_config_rule::{
        GetComplianceDetailsByConfigRuleError, GetComplianceDetailsByConfigRuleOutput as Details,
    };
    use aws_sdk_config::types::*;

    fn basics() -> Vec<aws_smithy_mocks::Rule> {
        vec![
            mock!(aws_sdk_config::Client::describe_configuration_recorders).then_output(|| {
                DescribeConfigurationRecordersOutput::builder()
                    .configuration_recorders(
                        ConfigurationRecorder::builder()
                            .name("default")
                            .recording_group(
                                RecordingGroup::builder()
                                    .all_supported(true)
                                    .include_global_resource_types(true)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            }),
            mock!(aws_sdk_config::Client::describe_configuration_recorder_status).then_output(
                || {
                    DescribeConfigurationRecorderStatusOutput::builder()
                        .configuration_recorders_status(
                            ConfigurationRecorderStatus::builder()
                                .name("default")
                                .recording(true)
                                .build(),
                        )
                        .build()
                },
            ),
            mock!(aws_sdk_config::Client::describe_delivery_channels)
                .then_output(|| DescribeDeliveryChannelsOutput::builder().build()),
            mock!(aws_sdk_config::Client::describe_config_rules).then_output(|| {
                DescribeConfigRulesOutput::builder()
                    .config_rules(
                        ConfigRule::builder()
                            .config_rule_name("iam-user-mfa-enabled")
                            .source(
                                Source::builder()
                                    .owner(Owner::Aws)
                                    .source_identifier("IAM_USER_MFA_ENABLED")
                                    .build()
                                    .unwrap(),
                            )
                            .config_rule_state(ConfigRuleState::Active)
                            .build(),
                    )
                    .config_rules(
                        ConfigRule::builder()
                            .config_rule_name("someone-elses-rule")
                            .source(
                                Source::builder()
                                    .owner(Owner::Aws)
                                    .source_identifier("EC2_INSTANCE_NO_PUBLIC_IP")
                                    .build()
                                    .unwrap(),
                            )
                            .config_rule_state(ConfigRuleState::Active)
                            .build(),
                    )
                    .build()
            }),
        ]
    }

    fn result(user_id: &str, c: ComplianceType) -> EvaluationResult {
        EvaluationResult::builder()
            .evaluation_result_identifier(
                EvaluationResultIdentifier::builder()
                    .evaluation_result_qualifier(
                        EvaluationResultQualifier::builder()
                            .config_rule_name("iam-user-mfa-enabled")
                            .resource_type("AWS::IAM::User")
                            .resource_id(user_id)
                            .build(),
                    )
                    .build(),
            )
            .compliance_type(c)
            .result_recorded_time(aws_smithy_types::DateTime::from_secs(1_790_000_000))
            .build()
    }

    #[tokio::test]
    async fn reads_paginated_compliance_results_of_audited_rules_only() {
        let details = mock!(aws_sdk_config::Client::get_compliance_details_by_config_rule)
            .match_requests(|r| {
                r.config_rule_name() == Some("iam-user-mfa-enabled")
                    && r.compliance_types().len() == 3
            })
            .sequence()
            .output(|| {
                Details::builder()
                    .evaluation_results(result("AIDAALICE", ComplianceType::Compliant))
                    .next_token("t")
                    .build()
            })
            .output(|| {
                Details::builder()
                    .evaluation_results(result("AIDABOB", ComplianceType::NonCompliant))
                    .build()
            })
            .build();
        let mut rules = basics();
        rules.push(details.clone());
        let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, rules.iter());
        let (region, problems) =
            config::collect_region(&client, "eu-west-1", &["IAM_USER_MFA_ENABLED"]).await;
        assert!(problems.is_empty(), "{problems:?}");
        assert!(region.recorders[0].recording);
        assert_eq!(region.rules.len(), 2);
        let got: Vec<(&str, &str)> = region
            .compliance
            .iter()
            .map(|c| (c.resource_id.as_str(), c.compliance.as_str()))
            .collect();
        assert_eq!(
            got,
            [("AIDAALICE", "COMPLIANT"), ("AIDABOB", "NON_COMPLIANT")]
        );
        assert_eq!(
            details.num_calls(),
            2,
            "both pages, and no call for the rule CloudKestrel does not audit"
        );
    }

    /// An evaluation result without its resource is not a result about nothing: the
    /// rule's results are a problem, as when they cannot be read.
    #[tokio::test]
    async fn a_result_without_its_resource_is_a_problem_for_that_rule() {
        let details = mock!(aws_sdk_config::Client::get_compliance_details_by_config_rule)
            .then_output(|| {
                Details::builder()
                    .evaluation_results(result("AIDAALICE", ComplianceType::NonCompliant))
                    .evaluation_results(
                        EvaluationResult::builder()
                            .compliance_type(ComplianceType::Compliant)
                            .build(),
                    )
                    .build()
            });
        let mut rules = basics();
        rules.push(details);
        let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, rules.iter());
        let (region, problems) =
            config::collect_region(&client, "eu-west-1", &["IAM_USER_MFA_ENABLED"]).await;
        assert!(region.compliance.is_empty(), "partial results are dropped");
        only_problem(
            &problems,
            Section::ConfigCompliance,
            "MalformedResponse",
            "iam-user-mfa-enabled",
        );
    }

    #[tokio::test]
    async fn unreadable_results_are_a_problem_for_that_rule() {
        let details = mock!(aws_sdk_config::Client::get_compliance_details_by_config_rule)
            .then_error(|| GetComplianceDetailsByConfigRuleError::generic(denied()));
        let mut rules = basics();
        rules.push(details);
        let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, rules.iter());
        let (region, problems) =
            config::collect_region(&client, "eu-west-1", &["IAM_USER_MFA_ENABLED"]).await;
        assert!(region.compliance.is_empty());
        let p = only_problem(
            &problems,
            Section::ConfigCompliance,
            "AccessDenied",
            "iam-user-mfa-enabled",
        );
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
    }

    #[tokio::test]
    async fn throttled_rules_listing_is_a_config_rules_problem() {
        let mut rules = basics();
        rules[3] = mock!(aws_sdk_config::Client::describe_config_rules)
            .then_error(|| DescribeConfigRulesError::generic(throttled()));
        let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, rules.iter(), |c| c
            .retry_config(fast_retries(3)));
        let (region, problems) =
            config::collect_region(&client, "us-east-1", &["IAM_USER_MFA_ENABLED"]).await;
        assert!(region.rules.is_empty());
        assert!(
            problems
                .iter()
                .any(|p| p.section == Section::ConfigRules && p.error_code == "Throttling"),
            "{problems:?}"
        );
        assert_eq!(rules[3].num_calls(), 3);
    }
}

// ---- S3 ---------------------------------------------------------------------------

mod s3_buckets {
    use super::*;
    use aws_sdk_s3::operation::get_bucket_acl::{GetBucketAclError, GetBucketAclOutput};
    use aws_sdk_s3::operation::get_bucket_ownership_controls::GetBucketOwnershipControlsError;
    use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyError;
    use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockError;
    use aws_sdk_s3::types::{Grant, Grantee, Permission, Type};

    fn code(c: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(c).message(c).build()
    }

    /// The grantee "everyone" (S3's AllUsers group).
    fn all_users() -> Grantee {
        Grantee::builder()
            .r#type(Type::Group)
            .uri("http://acs.amazonaws.com/groups/global/AllUsers")
            .build()
            .unwrap()
    }

    /// Collects the buckets `names` (all in us-east-1) with `acl` answering
    /// GetBucketAcl, and no bucket policy, public access block or ownership controls.
    async fn collect_with_acl(
        acl: &aws_smithy_mocks::Rule,
        names: &[&str],
    ) -> (
        Vec<cloudkestrel::model::Bucket>,
        Vec<cloudkestrel::model::Problem>,
    ) {
        let policy = mock!(aws_sdk_s3::Client::get_bucket_policy)
            .then_error(|| GetBucketPolicyError::generic(code("NoSuchBucketPolicy")));
        let pab = mock!(aws_sdk_s3::Client::get_public_access_block).then_error(|| {
            GetPublicAccessBlockError::generic(code("NoSuchPublicAccessBlockConfiguration"))
        });
        let own = mock!(aws_sdk_s3::Client::get_bucket_ownership_controls).then_error(|| {
            GetBucketOwnershipControlsError::generic(code("OwnershipControlsNotFoundError"))
        });
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [acl, &policy, &pab, &own]);
        let listed = names
            .iter()
            .map(|n| (n.to_string(), Some("us-east-1".to_string()), None))
            .collect();
        let c2 = client.clone();
        s3::collect_buckets(&client, listed, move |_| c2.clone()).await
    }

    #[tokio::test]
    async fn absent_settings_are_data_and_denied_buckets_are_problems() {
        let acl = mock!(aws_sdk_s3::Client::get_bucket_acl).then_compute_response(|req| {
            use aws_smithy_mocks::MockResponse;
            if req.bucket() == Some("locked") {
                MockResponse::Error(GetBucketAclError::generic(denied()))
            } else {
                MockResponse::Output(
                    GetBucketAclOutput::builder()
                        .owner(aws_sdk_s3::types::Owner::builder().id("owner-id").build())
                        .grants(
                            Grant::builder()
                                .grantee(all_users())
                                .permission(Permission::Read)
                                .build(),
                        )
                        .build(),
                )
            }
        });
        let (buckets, problems) = collect_with_acl(&acl, &["open", "locked"]).await;
        assert_eq!(buckets.len(), 2);
        let open = buckets.iter().find(|b| b.name == "open").unwrap();
        assert_eq!(open.acl_grants.len(), 1);
        assert!(
            open.policy.is_none()
                && open.public_access_block.is_none()
                && open.ownership_controls.is_none()
        );
        only_problem(
            &problems,
            Section::S3BucketDetails,
            "AccessDenied",
            "locked",
        );
    }

    /// A grant without its grantee, its grantee's URI or its permission is a problem
    /// for that bucket, never "no grant" (which could hide a public one).
    #[tokio::test]
    async fn incomplete_grants_are_problems_for_the_bucket() {
        let acl = mock!(aws_sdk_s3::Client::get_bucket_acl).then_compute_response(|req| {
            use aws_smithy_mocks::MockResponse;
            let grant = match req.bucket() {
                Some("no-uri") => Grant::builder()
                    .grantee(Grantee::builder().r#type(Type::Group).build().unwrap())
                    .permission(Permission::Read)
                    .build(),
                Some("no-grantee") => Grant::builder().permission(Permission::Read).build(),
                _ => Grant::builder().grantee(all_users()).build(),
            };
            MockResponse::Output(GetBucketAclOutput::builder().grants(grant).build())
        });
        let (_, mut problems) =
            collect_with_acl(&acl, &["no-uri", "no-permission", "no-grantee"]).await;
        problems.sort_by(|a, b| a.resource.cmp(&b.resource));
        let got: Vec<(Option<&str>, Section, &str)> = problems
            .iter()
            .map(|p| (p.resource.as_deref(), p.section, p.error_code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some("no-grantee"),
                    Section::S3BucketDetails,
                    "MalformedResponse"
                ),
                (
                    Some("no-permission"),
                    Section::S3BucketDetails,
                    "MalformedResponse"
                ),
                (
                    Some("no-uri"),
                    Section::S3BucketDetails,
                    "MalformedResponse"
                ),
            ]
        );
    }

    #[tokio::test]
    async fn account_block_and_bucket_list_failures() {
        use aws_sdk_s3::operation::list_buckets::ListBucketsError;
        use aws_sdk_s3control::operation::get_public_access_block::GetPublicAccessBlockError as CtlError;
        let none = mock!(aws_sdk_s3control::Client::get_public_access_block)
            .then_error(|| CtlError::generic(code("NoSuchPublicAccessBlockConfiguration")));
        let client = mock_client!(aws_sdk_s3control, [&none]);
        assert_eq!(
            s3::collect_account_public_access_block(&client, "111122223333")
                .await
                .unwrap(),
            None
        );

        let denied_rule = mock!(aws_sdk_s3control::Client::get_public_access_block)
            .then_error(|| CtlError::generic(denied()));
        let client = mock_client!(aws_sdk_s3control, [&denied_rule]);
        let p = s3::collect_account_public_access_block(&client, "111122223333")
            .await
            .unwrap_err();
        assert_eq!(p.section, Section::S3AccountPublicAccessBlock);

        let list = mock!(aws_sdk_s3::Client::list_buckets).then_http_response(garbage);
        let client = mock_client!(aws_sdk_s3, [&list]);
        let p = s3::list_buckets(&client).await.unwrap_err();
        assert_eq!(p.section, Section::S3Buckets);

        let list = mock!(aws_sdk_s3::Client::list_buckets)
            .then_error(|| ListBucketsError::generic(throttled()));
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list], |c| c
            .retry_config(fast_retries(3)));
        let p = s3::list_buckets(&client).await.unwrap_err();
        assert_eq!(
            (p.section, p.error_code.as_str()),
            (Section::S3Buckets, "Throttling")
        );
        assert_eq!(list.num_calls(), 3);
    }
}

// ---- apply --------------------------------------------------------------------------

#[tokio::test]
async fn a_parameter_aws_refuses_is_named_in_the_error() {
    use aws_sdk_config::operation::put_config_rule::PutConfigRuleError;
    use aws_sdk_config::types::error::InvalidParameterValueException;
    use cloudkestrel::apply::{put_rule, Addition};
    let rule = mock!(aws_sdk_config::Client::put_config_rule)
        .match_requests(|r| {
            let rule = r.config_rule().unwrap();
            rule.input_parameters() == Some(r#"{"maxCredentialUsageAge":"100000"}"#)
                && rule.maximum_execution_frequency().map(|f| f.as_str())
                    == Some("TwentyFour_Hours")
                && rule.source().and_then(|s| s.source_identifier())
                    == Some("IAM_USER_UNUSED_CREDENTIALS_CHECK")
        })
        .then_error(|| {
            PutConfigRuleError::InvalidParameterValueException(
                InvalidParameterValueException::builder()
                    .message("maxCredentialUsageAge must be between 1 and 1095")
                    .meta(
                        ErrorMetadata::builder()
                            .code("InvalidParameterValueException")
                            .build(),
                    )
                    .build(),
            )
        });
    let client = mock_client!(aws_sdk_config, [&rule]);
    let addition = Addition {
        region: "us-east-1".into(),
        rule_name: "iam-user-unused-credentials-check".into(),
        source_identifier: "IAM_USER_UNUSED_CREDENTIALS_CHECK".into(),
        input_parameters: [("maxCredentialUsageAge".to_string(), "100000".to_string())].into(),
        maximum_execution_frequency: Some("TwentyFour_Hours"),
        scope: Vec::new(),
        configured_as: "IAM_USER_UNUSED_CREDENTIALS_CHECK".into(),
    };
    let err = put_rule(&client, &addition).await.unwrap_err();
    for needle in [
        "iam-user-unused-credentials-check",
        "maxCredentialUsageAge",
        "100000",
        "InvalidParameterValueException",
        "between 1 and 1095",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn recorder_failures_are_config_recorders_problems() {
    use aws_sdk_config::operation::describe_configuration_recorders::DescribeConfigurationRecordersError;
    use aws_sdk_config::operation::describe_delivery_channels::DescribeDeliveryChannelsError;
    let recorders = mock!(aws_sdk_config::Client::describe_configuration_recorders)
        .then_error(|| DescribeConfigurationRecordersError::generic(denied()));
    let status = mock!(aws_sdk_config::Client::describe_configuration_recorder_status)
        .then_http_response(garbage);
    let channels = mock!(aws_sdk_config::Client::describe_delivery_channels)
        .then_error(|| DescribeDeliveryChannelsError::generic(denied()));
    let rules = mock!(aws_sdk_config::Client::describe_config_rules).then_output(|| {
        aws_sdk_config::operation::describe_config_rules::DescribeConfigRulesOutput::builder()
            .build()
    });
    let client = mock_client!(
        aws_sdk_config,
        RuleMode::MatchAny,
        [&recorders, &status, &channels, &rules]
    );
    let (region, problems) = config::collect_region(&client, "us-east-1", &[]).await;
    assert!(region.recorders.is_empty());
    assert!(
        problems
            .iter()
            .all(|p| p.section == Section::ConfigRecorders),
        "{problems:?}"
    );
    assert!(problems
        .iter()
        .any(|p| p.operation == "config:DescribeConfigurationRecorders"
            && p.error_code == "AccessDenied"));
    assert!(problems
        .iter()
        .any(|p| p.operation == "config:DescribeDeliveryChannels"));
}

#[tokio::test]
async fn account_summary_root_flags_are_kept() {
    use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput;
    use aws_sdk_iam::types::SummaryKeyType;
    let rule = mock!(aws_sdk_iam::Client::get_account_summary).then_output(|| {
        GetAccountSummaryOutput::builder()
            .summary_map(SummaryKeyType::AccountAccessKeysPresent, 1)
            .summary_map(SummaryKeyType::AccountMfaEnabled, 0)
            .summary_map(SummaryKeyType::Users, 42)
            .build()
    });
    let client = mock_client!(aws_sdk_iam, [&rule]);
    let summary = iam::collect_account_summary(&client).await.unwrap();
    assert_eq!(summary["AccountAccessKeysPresent"], 1);
    assert_eq!(summary["AccountMFAEnabled"], 0);
    assert_eq!(summary["Users"], 42);
}
