//! S3: the bucket list, the account's public access block, and per bucket (in the
//! bucket's own region, a bounded number at a time) its ACL, policy, public access
//! block and ownership controls.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_s3::types::{ObjectOwnership, Permission, Type as GranteeType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::stream::{self, StreamExt};

use super::aws::{code_of, malformed, problem, required, PageTrail};
use crate::model::{Bucket, Grant, Problem, PublicAccessBlock, Section};
use crate::policy::parse_document;

/// A bucket as ListBuckets gives it: name, region (when it says), creation date.
pub type Listed = (
    String,
    Option<String>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// How many buckets are read at once.
pub const BUCKET_CONCURRENCY: usize = 16;

/// A public access block from the four flags S3 and S3 Control return. S3 returns all
/// four in every answer (even after a PUT that set fewer): one missing is a malformed
/// answer, not "false".
fn flags(
    block_public_acls: Option<bool>,
    ignore_public_acls: Option<bool>,
    block_public_policy: Option<bool>,
    restrict_public_buckets: Option<bool>,
) -> Result<PublicAccessBlock, String> {
    match (
        block_public_acls,
        ignore_public_acls,
        block_public_policy,
        restrict_public_buckets,
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => Ok(PublicAccessBlock {
            block_public_acls: a,
            ignore_public_acls: b,
            block_public_policy: c,
            restrict_public_buckets: d,
        }),
        _ => Err("the public access block does not give all four of its flags".into()),
    }
}

/// The account-level public access block; `None` when not configured.
pub async fn collect_account_public_access_block(
    s3control: &aws_sdk_s3control::Client,
    account_id: &str,
) -> Result<Option<PublicAccessBlock>, Problem> {
    const OP: &str = "s3control:GetPublicAccessBlock";
    match s3control
        .get_public_access_block()
        .account_id(account_id)
        .send()
        .await
    {
        Ok(out) => {
            let c = out.public_access_block_configuration().ok_or_else(|| {
                malformed(
                    Section::S3AccountPublicAccessBlock,
                    OP,
                    "the answer has no PublicAccessBlockConfiguration",
                )
            })?;
            flags(
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets(),
            )
            .map(Some)
            .map_err(|e| malformed(Section::S3AccountPublicAccessBlock, OP, e))
        }
        Err(e) if code_of(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
        Err(e) => Err(problem(Section::S3AccountPublicAccessBlock, OP, &e)),
    }
}

/// (name, region if ListBuckets said, creation date).
pub async fn list_buckets(s3: &aws_sdk_s3::Client) -> Result<Vec<Listed>, Problem> {
    let mut out = list_page(s3, None).await?;
    // Where ListBuckets gave no region (moto, S3-compatible stores), one more listing
    // filtered by the home region places the buckets that are there; only the others
    // then cost a GetBucketLocation each. A failure here only means more of those.
    if out.iter().any(|(_, r, _)| r.is_none()) {
        if let Some(home) = s3.config().region().map(|r| r.to_string()) {
            if let Ok(here) = list_page(s3, Some(&home)).await {
                let here: std::collections::HashSet<String> =
                    here.into_iter().map(|(n, _, _)| n).collect();
                for (name, region, _) in &mut out {
                    if region.is_none() && here.contains(name.as_str()) {
                        *region = Some(home.clone());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Every page of ListBuckets, optionally only the buckets of one region. With a
/// parameter (here the page size, S3's maximum) S3 also gives each bucket's region.
async fn list_page(s3: &aws_sdk_s3::Client, region: Option<&str>) -> Result<Vec<Listed>, Problem> {
    let mut pages = s3
        .list_buckets()
        .max_buckets(10_000)
        .set_bucket_region(region.map(str::to_string))
        .into_paginator()
        .send();
    const OP: &str = "s3:ListBuckets";
    let mut out = Vec::new();
    let mut trail = PageTrail::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| problem(Section::S3Buckets, OP, &e))?;
        trail
            .token(page.continuation_token())
            .map_err(|e| malformed(Section::S3Buckets, OP, e))?;
        for b in page.buckets() {
            // A bucket without its name is a malformed answer: skipped, it would pass.
            let name = required(b.name(), Section::S3Buckets, OP, || {
                "a bucket's Name".into()
            })?;
            out.push((
                name.to_string(),
                b.bucket_region().map(str::to_string),
                b.creation_date().and_then(super::aws::to_chrono),
            ));
        }
    }
    Ok(out)
}

/// Reads every bucket, each with the client of its region (from `client_for`, made
/// once per region), [`BUCKET_CONCURRENCY`] buckets at a time.
pub async fn collect_buckets<F>(
    home: &aws_sdk_s3::Client,
    listed: Vec<Listed>,
    client_for: F,
) -> (Vec<Bucket>, Vec<Problem>)
where
    F: Fn(&str) -> aws_sdk_s3::Client,
{
    let clients: Mutex<HashMap<String, aws_sdk_s3::Client>> = Mutex::new(HashMap::new());
    let client_in = |region: &str| -> aws_sdk_s3::Client {
        let mut map = clients.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(region.to_string())
            .or_insert_with(|| client_for(region))
            .clone()
    };
    let results: Vec<(Bucket, Vec<Problem>)> = stream::iter(listed)
        .map(|(name, region, created)| {
            let client_in = &client_in;
            async move {
                let region = match region {
                    Some(r) => r,
                    None => match bucket_region(home, &name).await {
                        Ok(r) => r,
                        Err(p) => {
                            let p = Problem {
                                resource: Some(name.clone()),
                                ..p
                            };
                            return (Bucket::unread(name, created), vec![p]);
                        }
                    },
                };
                collect_bucket(&client_in(&region), name, region, created).await
            }
        })
        .buffered(BUCKET_CONCURRENCY)
        .collect()
        .await;
    let mut buckets = Vec::with_capacity(results.len());
    let mut problems = Vec::new();
    for (b, p) in results {
        buckets.push(b);
        problems.extend(p);
    }
    (buckets, problems)
}

impl Bucket {
    /// A bucket known only by name: its details could not be read (a Problem says why).
    fn unread(name: String, created: Option<chrono::DateTime<chrono::Utc>>) -> Bucket {
        Bucket {
            name,
            region: String::new(),
            created,
            acl_grants: Vec::new(),
            policy: None,
            ownership_controls: None,
            public_access_block: None,
        }
    }
}

/// What one bucket answer says: the value `read` takes from it, `None` when S3 answered
/// with the error that means "not configured" (`absent`, the only error that does), or
/// the problem.
fn read_or_absent<O, E, T>(
    answer: Result<O, aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>>,
    operation: &str,
    absent: &str,
    read: impl FnOnce(&O) -> Result<T, String>,
) -> Result<Option<T>, Problem>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match answer {
        Ok(out) => read(&out)
            .map(Some)
            .map_err(|e| malformed(Section::S3BucketDetails, operation, e)),
        Err(e) if code_of(&e) == Some(absent) => Ok(None),
        Err(e) => Err(problem(Section::S3BucketDetails, operation, &e)),
    }
}

async fn bucket_region(s3: &aws_sdk_s3::Client, name: &str) -> Result<String, Problem> {
    let out = s3
        .get_bucket_location()
        .bucket(name)
        .send()
        .await
        .map_err(|e| problem(Section::S3BucketDetails, "s3:GetBucketLocation", &e))?;
    Ok(match out.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    })
}

/// One bucket's ACL, policy, public access block and ownership controls, concurrently.
async fn collect_bucket(
    s3: &aws_sdk_s3::Client,
    name: String,
    region: String,
    created: Option<chrono::DateTime<chrono::Utc>>,
) -> (Bucket, Vec<Problem>) {
    let mut problems = Vec::new();
    let (acl, policy, pab, ownership) = tokio::join!(
        s3.get_bucket_acl().bucket(&name).send(),
        s3.get_bucket_policy().bucket(&name).send(),
        s3.get_public_access_block().bucket(&name).send(),
        s3.get_bucket_ownership_controls().bucket(&name).send(),
    );
    let mut fail = |p: Problem| {
        problems.push(Problem {
            region: Some(region.clone()),
            resource: Some(name.clone()),
            ..p
        })
    };
    // A grant without its grantee or permission is a malformed answer: read as "no
    // grant", it could hide a public one.
    let grants = |out: &aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput| {
        let bucket = name.as_str();
        // The owner holds every permission whatever the grants say: an ACL without its
        // owner is not one S3 wrote.
        required(
            out.owner().and_then(|o| o.id()),
            Section::S3BucketDetails,
            "s3:GetBucketAcl",
            || format!("the owner's ID in the ACL of bucket {bucket}"),
        )?;
        let field =
            move |what: &'static str| move || format!("the {what} of a grant on bucket {bucket}");
        let need = |value: Option<&str>, what: &'static str| {
            required(
                value,
                Section::S3BucketDetails,
                "s3:GetBucketAcl",
                field(what),
            )
            .map(str::to_string)
        };
        out.grants()
            .iter()
            .map(|g| {
                let grantee = required(
                    g.grantee(),
                    Section::S3BucketDetails,
                    "s3:GetBucketAcl",
                    field("grantee"),
                )?;
                let (kind, who) = match grantee.r#type() {
                    GranteeType::Group => ("Group", need(grantee.uri(), "group URI")?),
                    GranteeType::AmazonCustomerByEmail => (
                        "AmazonCustomerByEmail",
                        need(grantee.email_address(), "grantee's email")?,
                    ),
                    GranteeType::CanonicalUser => {
                        ("CanonicalUser", need(grantee.id(), "grantee's id")?)
                    }
                    other => {
                        return Err(malformed(
                            Section::S3BucketDetails,
                            "s3:GetBucketAcl",
                            format!(
                            "a grant on bucket {bucket} has the grantee type {:?}, none of S3's",
                            other.as_str()
                        ),
                        ))
                    }
                };
                let permission = match g.permission() {
                    Some(
                        p @ (Permission::Read
                        | Permission::Write
                        | Permission::ReadAcp
                        | Permission::WriteAcp
                        | Permission::FullControl),
                    ) => p.as_str().to_string(),
                    other => {
                        return Err(malformed(
                            Section::S3BucketDetails,
                            "s3:GetBucketAcl",
                            format!(
                                "a grant on bucket {bucket} has the permission {:?}, none of S3's",
                                other.map(|p| p.as_str())
                            ),
                        ))
                    }
                };
                Ok(Grant {
                    grantee_type: kind.to_string(),
                    grantee: who,
                    permission,
                })
            })
            .collect::<Result<Vec<_>, Problem>>()
    };
    let acl_grants = acl
        .map_err(|e| problem(Section::S3BucketDetails, "s3:GetBucketAcl", &e))
        .and_then(|out| grants(&out))
        .unwrap_or_else(|p| {
            fail(p);
            Vec::new()
        });
    fn read<T>(answer: Result<Option<T>, Problem>, fail: &mut impl FnMut(Problem)) -> Option<T> {
        answer.unwrap_or_else(|p| {
            fail(p);
            None
        })
    }
    let policy = read(
        read_or_absent(policy, "s3:GetBucketPolicy", "NoSuchBucketPolicy", |out| {
            // An empty 200 is not "no policy" (that is NoSuchBucketPolicy).
            let text = out
                .policy()
                .filter(|t| !t.is_empty())
                .ok_or("the answer has no Policy")?;
            parse_document(text).map_err(|e| e.to_string())
        }),
        &mut fail,
    );
    let public_access_block = read(
        read_or_absent(
            pab,
            "s3:GetPublicAccessBlock",
            "NoSuchPublicAccessBlockConfiguration",
            |out| {
                let c = out
                    .public_access_block_configuration()
                    .ok_or("the answer has no PublicAccessBlockConfiguration")?;
                flags(
                    c.block_public_acls(),
                    c.ignore_public_acls(),
                    c.block_public_policy(),
                    c.restrict_public_buckets(),
                )
            },
        ),
        &mut fail,
    );
    let ownership_controls = read(
        read_or_absent(
            ownership,
            "s3:GetBucketOwnershipControls",
            "OwnershipControlsNotFoundError",
            |out| {
                let rules = out
                    .ownership_controls()
                    .map(|c| c.rules())
                    .unwrap_or_default();
                match rules {
                    [r] => match r.object_ownership() {
                        o @ (ObjectOwnership::BucketOwnerEnforced
                        | ObjectOwnership::BucketOwnerPreferred
                        | ObjectOwnership::ObjectWriter) => Ok(o.as_str().to_string()),
                        other => Err(format!(
                            "the Object Ownership {:?} is none of S3's",
                            other.as_str()
                        )),
                    },
                    _ => Err(format!(
                        "the answer holds {} ownership rules where S3 always gives one",
                        rules.len()
                    )),
                }
            },
        ),
        &mut fail,
    );
    (
        Bucket {
            name,
            region,
            created,
            acl_grants,
            policy,
            ownership_controls,
            public_access_block,
        },
        problems,
    )
}
