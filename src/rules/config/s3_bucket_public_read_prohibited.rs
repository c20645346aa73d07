use crate::model::Section;
use crate::rules::{rule, Context, Finding, Kind, Rule, RuleMeta, Severity, Trigger};

use super::s3_access::{self, Access};

rule! {
    /// ## What it checks
    /// That no S3 bucket allows public read access (AWS Config managed rule
    /// `s3-bucket-public-read-prohibited`, change-triggered and periodic). One result per
    /// bucket, in every region.
    ///
    /// A bucket fails when its ACL grants read access to AllUsers or AuthenticatedUsers and
    /// Block Public Access does not ignore public ACLs, or when its bucket policy allows
    /// read access publicly and Block Public Access does not restrict public buckets.
    ///
    /// ## Why it matters
    /// Public buckets are the classic AWS data leak. Public access is
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
    /// - ACL permissions that count as read: `READ`, `FULL_CONTROL` (`READ_ACP` alone
    ///   exposes the ACL, not the data, and does not count). ACLs do not count under Object
    ///   Ownership `BucketOwnerEnforced`.
    /// - Policy actions that count as read: every `s3:Get*` and `s3:List*` action (the
    ///   S3 API's list of actions that can expose data) and any pattern that can match one
    ///   (`s3:*`, `*`, `s3:*Object`); owner-only reads such as `s3:GetBucketPolicy` count
    ///   too. An Allow with `NotAction`
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
    /// - AWS Config: s3-bucket-public-read-prohibited
    /// - Amazon S3 User Guide: Blocking public access ("The meaning of public")
    /// - CIS AWS Foundations v5.0.0 2.1.4 (related)
    pub static META = RuleMeta {
        name: "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        kind: Kind::Config,
        source_identifier: Some("S3_BUCKET_PUBLIC_READ_PROHIBITED"),
        aws_rule_name: Some("s3-bucket-public-read-prohibited"),
        summary: "No S3 bucket allows public read access (ACL or policy), after Block Public Access",
        user_scoped: false,
        global: false,
        trigger: Trigger::ChangesAndPeriodic(&["AWS::S3::Bucket"]),
        parameters: &[],
        options: &[],
        needs: &[Section::S3Buckets, Section::S3AccountPublicAccessBlock],
        severity: Severity::Critical,
        severity_reason: "anyone on the internet can read the data: public buckets are the classic AWS data leak",
    };
}

pub struct PublicRead;

impl Rule for PublicRead {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        s3_access::check(cx, Access::Read)
    }
}
