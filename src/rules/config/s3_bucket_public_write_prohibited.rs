use crate::model::Section;
use crate::rules::{rule, Context, Finding, Kind, Rule, RuleMeta, Severity, Trigger};

use super::s3_access::{self, Access};

rule! {
    /// ## What it checks
    /// That no S3 bucket allows public write access (AWS Config managed rule
    /// `s3-bucket-public-write-prohibited`, change-triggered and periodic). One result per
    /// bucket, in every region.
    ///
    /// A bucket fails when its ACL grants write access to AllUsers or AuthenticatedUsers and
    /// Block Public Access does not ignore public ACLs, or when its bucket policy allows
    /// write access publicly and Block Public Access does not restrict public buckets.
    ///
    /// ## Why it matters
    /// Public buckets are the classic AWS data leak, and a public write lets anyone plant malware, overwrite data or run up your bill. Public access is
    /// almost never intended.
    ///
    /// ## How to fix
    /// Turn on Block Public Access for the account (all four settings), or at least for
    /// the bucket; remove ACL grants to AllUsers/AuthenticatedUsers (or set Object
    /// Ownership to "bucket owner enforced"); restrict bucket policy statements with
    /// `Principal: "*"` to fixed principals, `aws:SourceVpc`/`aws:SourceVpce` or
    /// `aws:PrincipalOrgID` conditions.
    ///
    /// ## Choices made
    /// - Effective Block Public Access is the account setting OR the bucket setting.
    ///   Only `IgnorePublicAcls` neutralises public ACLs and only
    ///   `RestrictPublicBuckets` neutralises public policies: the two `Block…` flags
    ///   only reject *new* public settings. The account-level settings are applied for
    ///   both rules.
    /// - ACL permissions that count as write: `WRITE`, `WRITE_ACP` (lets anyone
    ///   grant themselves everything), `FULL_CONTROL`. ACLs do not count under Object
    ///   Ownership `BucketOwnerEnforced`.
    /// - Policy actions that count as write: every `s3:Put*` and `s3:Delete*` action,
    ///   `s3:AbortMultipartUpload`, `s3:RestoreObject` (the S3 API's list of actions that
    ///   can expose data), and any pattern that can match one (`s3:*`, `*`); so
    ///   `s3:PutLifecycleConfiguration` or `s3:PutBucketPolicy` count. An Allow with `NotAction`
    ///   counts when it leaves any of them allowed. Deny statements are not subtracted.
    /// - A statement is not public when a condition pins it to fixed values of the keys
    ///   S3 lists (`aws:SourceVpc`, `aws:SourceVpce`, `aws:SourceArn`, `aws:SourceAccount`,
    ///   `aws:SourceOwner`, `aws:PrincipalOrgID`, `aws:PrincipalAccount`,
    ///   `aws:PrincipalArn`, `aws:userid`, KMS key id, access point ARN/account, and
    ///   `aws:SourceIp` ranges no broader than /8). A wildcard value (`vpc-*`), a policy
    ///   variable, an `…IfExists` or negated operator does not pin it, with one exception
    ///   S3 documents: an `s3:DataAccessPointArn` with a wildcard only in the access
    ///   point's name and a fixed account and region
    ///   (`arn:aws:s3:us-east-1:111122223333:accesspoint/*`) pins it; a wildcard in the
    ///   account or region does not (the region is CloudKestrel's choice: S3 speaks of
    ///   the account).
    ///
    /// ## References
    /// - AWS Config: s3-bucket-public-write-prohibited
    /// - Amazon S3 User Guide: Blocking public access ("The meaning of public")
    /// - CIS AWS Foundations v5.0.0 2.1.4 (related)
    pub static META = RuleMeta {
        name: "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
        kind: Kind::Config,
        source_identifier: Some("S3_BUCKET_PUBLIC_WRITE_PROHIBITED"),
        aws_rule_name: Some("s3-bucket-public-write-prohibited"),
        summary: "No S3 bucket allows public write access (ACL or policy), after Block Public Access",
        user_scoped: false,
        global: false,
        trigger: Trigger::ChangesAndPeriodic(&["AWS::S3::Bucket"]),
        parameters: &[],
        options: &[],
        needs: &[Section::S3Buckets, Section::S3AccountPublicAccessBlock],
        severity: Severity::Critical,
        severity_reason: "anyone on the internet can write, overwrite or delete the data, or host malware under the account's name",
    };
}

pub struct PublicWrite;

impl Rule for PublicWrite {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        s3_access::check(cx, Access::Write)
    }
}
