//! Fail closed: a section that could not be collected makes every check that needs it
//! report `error`, never `pass`, and the target is not fully audited (exit 3).

use std::path::PathBuf;

use cloudkestrel::evaluate::evaluate_account;
use cloudkestrel::model::{Problem, Section};
use cloudkestrel::rules::{Check, Kind, Status};
use cloudkestrel::{fixture, targets};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Which checks a problem in `section` must turn into errors.
fn affected(section: Section, kind: Kind, needs: &[Section], check: Check) -> bool {
    match section {
        Section::Identity => true,
        Section::ConfigRecorders => check == Check::Deployed,
        Section::ConfigRules => matches!(check, Check::Deployed | Check::AwsConfig),
        Section::ConfigCompliance => check == Check::AwsConfig,
        Section::S3BucketDetails => {
            kind == Kind::Config && check == Check::Local && needs.contains(&Section::S3Buckets)
        }
        s => {
            needs.contains(&s)
                && matches!(
                    check,
                    Check::Local | Check::PolicyDocument | Check::Attached
                )
        }
    }
}

#[test]
fn every_section_fails_closed() {
    let targets = targets::load(&root().join("targets.example.json")).unwrap();
    let target = targets.get("demo").unwrap();
    let base = fixture::load(&root().join("fixtures/demo-account.json")).unwrap();
    for section in Section::ALL {
        let mut account = base.clone();
        account.problems.push(Problem {
            section,
            operation: "test:Operation".into(),
            error_code: "AccessDenied".into(),
            message: "denied for the test".into(),
            region: None,
            resource: None,
        });
        let report = evaluate_account(target, &account, "test.sqlite");
        assert!(
            !report.fully_audited(),
            "{section:?}: a problem must make the audit incomplete"
        );
        assert_eq!(report.problems.len(), 1);
        let mut checked = 0;
        for spec in &target.rules {
            let meta = spec.rule.meta();
            for check in [
                Check::PolicyDocument,
                Check::Attached,
                Check::Deployed,
                Check::AwsConfig,
                Check::Local,
            ] {
                if !affected(section, meta.kind, meta.needs, check) {
                    continue;
                }
                let results: Vec<_> = report
                    .results
                    .iter()
                    .filter(|r| r.rule == meta.name && r.check == check)
                    .collect();
                if results.is_empty() {
                    continue; // e.g. no aws-config results for a rule AWS Config does not run
                }
                checked += 1;
                assert!(
                    results.iter().all(|r| r.status == Status::Error),
                    "{section:?}: {} {} gave {:?}",
                    meta.name,
                    check.as_str(),
                    results
                        .iter()
                        .map(|r| (r.status, &r.message))
                        .collect::<Vec<_>>()
                );
            }
        }
        let unused = matches!(
            section,
            Section::IamPasswordPolicy | Section::IamAccountSummary
        );
        assert!(unused || checked > 0, "{section:?}: no check depends on it");
    }
}

#[test]
fn a_problem_with_one_bucket_errors_only_that_bucket() {
    let targets = targets::load(&root().join("targets.example.json")).unwrap();
    let target = targets.get("demo").unwrap();
    let mut account = fixture::load(&root().join("fixtures/demo-account.json")).unwrap();
    account.problems.push(Problem {
        section: Section::S3BucketDetails,
        operation: "s3:GetBucketPolicy".into(),
        error_code: "Throttling".into(),
        message: "Rate exceeded".into(),
        region: Some("us-east-1".into()),
        resource: Some("demo-config-logs".into()),
    });
    let report = evaluate_account(target, &account, "test.sqlite");
    for r in report
        .results
        .iter()
        .filter(|r| r.rule.starts_with("S3_") && r.check == Check::Local)
    {
        if &*r.resource_name == "demo-config-logs" {
            assert_eq!(r.status, Status::Error, "{}", r.message);
            assert!(r.message.contains("Throttling"), "{}", r.message);
        } else {
            assert_ne!(
                r.status,
                Status::Error,
                "{}: {}",
                r.resource_name,
                r.message
            );
        }
    }
}
