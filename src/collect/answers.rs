//! What an AWS answer must be before the SDK's reading of it becomes data.
//!
//! The AWS SDK for Rust's deserializers accept an answer cut short: its XML reader
//! (aws-smithy-xml's legacy decoder, which the generated code of IAM, STS, S3 and S3
//! Control uses) stops at the end of the input without noticing unclosed elements, so a
//! `ListBuckets` answer cut in half reads as a list of half the buckets; its JSON reader
//! takes an empty body for `{}` (AWS Config: "nothing deployed"). [`AnswerCheck`] closes
//! that hole for every operation of every client collect and apply make, where it is:
//! after the SDK has read an answer, the body it read must be one complete document of
//! the protocol's kind (well-formed XML with its root closed; one JSON value and nothing
//! after it), as long as its `Content-Length` says, and not empty where the API always
//! returns a document. Otherwise the call fails as a malformed answer
//! (`SdkError::ResponseError`, recorded as a `MalformedResponse` problem), so the checks
//! that needed it report `error`.
//!
//! What a complete document must contain (a bucket's name, a list element, the end of
//! a paginated list) is checked by each collector, which knows the operation.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// How a service writes its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsQuery (IAM, STS) and restXml (S3, S3 Control).
    Xml,
    /// awsJson 1.1 (AWS Config, Organizations).
    Json,
}

/// What the body of one operation's successful answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// One complete document of this kind.
    Document(Protocol),
    /// A document of this kind, or nothing: operations whose answer has no members.
    DocumentOrEmpty(Protocol),
}

/// The body a successful answer of `operation` must have, on a service that speaks
/// `protocol`. Every operation not named here must answer with a complete document.
fn expected_body(protocol: Protocol, operation: &str) -> Body {
    match operation {
        // The answer's body is the bucket policy itself, a JSON document: an empty one is
        // not "no policy" (that is the NoSuchBucketPolicy error).
        "GetBucketPolicy" => Body::Document(Protocol::Json),
        // Nothing to read in a PutConfigRule answer: AWS sends an empty body.
        "PutConfigRule" => Body::DocumentOrEmpty(Protocol::Json),
        _ => Body::Document(protocol),
    }
}

/// The members a successful answer of `operation` always carries, AWS's empty lists
/// included (`<Buckets/>`, `"ConfigRules": []`): without one, the SDK would read an
/// empty list or a default where the answer said nothing. For XML, the children of the
/// result element (awsQuery's `<…Result>`, or the root of a restXml answer); for JSON,
/// the keys of the top-level object, not `null`. Only members AWS sends in every
/// answer are listed (researched per operation: not `UserPolicyList`, which IAM leaves
/// out for a user without inline policies, nor Organizations' retired `Status`).
fn required_members(operation: &str) -> &'static [&'static str] {
    match operation {
        "GetCallerIdentity" => &["Account", "Arn", "UserId"],
        "AssumeRole" => &["Credentials", "AssumedRoleUser"],
        "GetAccountAuthorizationDetails" => &[
            "UserDetailList",
            "GroupDetailList",
            "RoleDetailList",
            "Policies",
            "IsTruncated",
        ],
        "GenerateCredentialReport" => &["State"],
        "GetCredentialReport" => &["Content", "ReportFormat", "GeneratedTime"],
        "GetAccountSummary" => &["SummaryMap"],
        "GetAccountPasswordPolicy" => &["PasswordPolicy"],
        "ListVirtualMFADevices" => &["VirtualMFADevices", "IsTruncated"],
        "DescribeConfigurationRecorders" => &["ConfigurationRecorders"],
        "DescribeConfigurationRecorderStatus" => &["ConfigurationRecordersStatus"],
        "DescribeDeliveryChannels" => &["DeliveryChannels"],
        "DescribeConfigRules" => &["ConfigRules"],
        "GetComplianceDetailsByConfigRule" => &["EvaluationResults"],
        "ListBuckets" => &["Buckets", "Owner"],
        "GetBucketAcl" => &["Owner", "AccessControlList"],
        "GetBucketPolicy" => &["Statement"],
        // S3's and S3 Control's: all four flags, even after a PUT that set fewer.
        "GetPublicAccessBlock" => &[
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        ],
        "GetBucketOwnershipControls" => &["Rule"],
        "DescribeOrganization" => &["Organization"],
        "ListRoots" => &["Roots"],
        "ListAccounts" | "ListAccountsForParent" => &["Accounts"],
        "ListChildren" => &["Children"],
        _ => &[],
    }
}

/// Why a body is not one complete document of `protocol` carrying `members`.
fn document_problem(protocol: Protocol, body: &[u8], members: &[&str]) -> Option<String> {
    let missing = |m: &str| {
        Some(format!(
            "the answer has no {m}, which the API always returns"
        ))
    };
    match protocol {
        Protocol::Json => match serde_json::from_slice::<serde_json::Value>(body) {
            Err(e) => Some(format!("the JSON answer is not one complete document: {e}")),
            Ok(doc) => members
                .iter()
                .find(|m| doc.get(**m).is_none_or(serde_json::Value::is_null))
                .and_then(|m| missing(m)),
        },
        Protocol::Xml => {
            let text = match std::str::from_utf8(body) {
                Ok(t) => t,
                Err(e) => return Some(format!("the XML answer is not UTF-8: {e}")),
            };
            let doc = match roxmltree::Document::parse(text) {
                Ok(d) => d,
                Err(e) => return Some(format!("the XML answer is not one complete document: {e}")),
            };
            let root = doc.root_element();
            let holder = root
                .children()
                .find(|n| n.is_element() && n.tag_name().name().ends_with("Result"))
                .unwrap_or(root);
            members
                .iter()
                .find(|m| {
                    !holder
                        .children()
                        .any(|c| c.is_element() && c.tag_name().name() == **m)
                })
                .and_then(|m| missing(m))
        }
    }
}

/// Why a successful (or client-error) answer cannot be taken as read, if it cannot.
/// Server errors (5xx) are left to the SDK's retries: their bodies are whatever the
/// server had (moto answers unimplemented calls with HTML).
pub fn answer_problem(
    protocol: Protocol,
    operation: &str,
    response: &HttpResponse,
) -> Option<String> {
    let status = response.status().as_u16();
    if status >= 500 {
        return None;
    }
    let Some(body) = response.body().bytes() else {
        // Only a streaming body is not in memory here, and no operation collect or apply
        // makes has one.
        return Some("the answer's body was not read in full".into());
    };
    let headers = response.headers();
    if headers.get("content-encoding").is_none() {
        if let Some(declared) = headers.get("content-length") {
            match declared.trim().parse::<usize>() {
                Ok(n) if n == body.len() => {}
                _ => {
                    return Some(format!(
                        "the answer declares Content-Length {declared} but has {} bytes",
                        body.len()
                    ))
                }
            }
        }
    }
    let success = (200..300).contains(&status);
    let problem = match (expected_body(protocol, operation), body.is_empty()) {
        // An error answer without a body carries no error code: the SDK's error then
        // says so, and a missing code is never read as "does not exist".
        (_, true) if !success => None,
        (Body::DocumentOrEmpty(_), true) => None,
        (Body::Document(_), true) => {
            Some("the answer is empty where the API always returns a document".into())
        }
        // Error answers are XML on XML services and JSON on JSON ones, whatever the
        // success body is; what they must carry, the SDK's error reading decides.
        (Body::Document(p) | Body::DocumentOrEmpty(p), false) if success => {
            document_problem(p, body, required_members(operation))
        }
        (_, false) => document_problem(protocol, body, &[]),
    };
    problem.map(|p| {
        if success {
            p
        } else {
            format!("HTTP {status}: {p}")
        }
    })
}

/// Fails every call whose answer is not a complete document (see the module comment).
#[derive(Debug, Clone, Copy)]
pub struct AnswerCheck {
    protocol: Protocol,
}

impl AnswerCheck {
    pub fn new(protocol: Protocol) -> Self {
        AnswerCheck { protocol }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("malformed answer to {operation}: {reason}")]
pub struct MalformedAnswer {
    pub operation: String,
    pub reason: String,
}

impl Intercept for AnswerCheck {
    fn name(&self) -> &'static str {
        "CloudKestrelAnswerCheck"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name())
            .unwrap_or("unknown");
        match answer_problem(self.protocol, operation, context.response()) {
            None => Ok(()),
            Some(reason) => Err(Box::new(MalformedAnswer {
                operation: operation.to_string(),
                reason,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16, body: &str, length: Option<&str>) -> HttpResponse {
        let mut r = HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(body.to_string()),
        );
        if let Some(l) = length {
            r.headers_mut().insert("content-length", l.to_string());
        }
        r
    }

    const LIST: &str = "<ListAllMyBucketsResult><Buckets><Bucket><Name>a</Name></Bucket><Bucket><Name>b</Name></Bucket></Buckets><Owner><ID>x</ID></Owner></ListAllMyBucketsResult>";

    #[test]
    fn complete_documents_pass() {
        let ok = |p, op, body: &str| answer_problem(p, op, &response(200, body, None));
        assert_eq!(ok(Protocol::Xml, "ListBuckets", LIST), None);
        assert_eq!(
            ok(
                Protocol::Xml,
                "ListBuckets",
                &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{LIST}\n")
            ),
            None
        );
        assert_eq!(
            ok(
                Protocol::Json,
                "DescribeConfigRules",
                "{\"ConfigRules\": []}"
            ),
            None
        );
        assert_eq!(
            ok(Protocol::Xml, "GetBucketPolicy", "{\"Statement\": []}"),
            None
        );
        // awsQuery: the members are inside <…Result>.
        let identity = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>a</Arn><UserId>u</UserId><Account>1</Account></GetCallerIdentityResult><ResponseMetadata/></GetCallerIdentityResponse>";
        assert_eq!(ok(Protocol::Xml, "GetCallerIdentity", identity), None);
        // An operation with no listed members needs only a complete document.
        assert_eq!(
            ok(Protocol::Xml, "GetBucketLocation", "<LocationConstraint/>"),
            None
        );
        assert_eq!(ok(Protocol::Json, "PutConfigRule", ""), None);
        assert_eq!(ok(Protocol::Json, "PutConfigRule", "{}"), None);
        let with_length = response(200, LIST, Some(&LIST.len().to_string()));
        assert_eq!(
            answer_problem(Protocol::Xml, "ListBuckets", &with_length),
            None
        );
    }

    #[test]
    fn cut_empty_and_trailing_answers_fail() {
        let bad = |p, op, body: &str| {
            answer_problem(p, op, &response(200, body, None)).expect("must be refused")
        };
        // Cut after a complete element: the SDK's reader would take the first bucket.
        let cut = &LIST[..LIST.find("<Bucket><Name>b").unwrap()];
        assert!(bad(Protocol::Xml, "ListBuckets", cut).contains("not one complete document"));
        assert!(bad(Protocol::Xml, "ListBuckets", &LIST[..40]).contains("not one complete"));
        assert!(bad(Protocol::Xml, "ListBuckets", "").contains("empty"));
        assert!(bad(Protocol::Json, "DescribeConfigRules", "").contains("empty"));
        assert!(bad(Protocol::Json, "DescribeConfigRules", "{\"ConfigRules\": [").contains("JSON"));
        assert!(bad(Protocol::Json, "DescribeConfigRules", "{} {}").contains("JSON"));
        assert!(bad(Protocol::Xml, "GetBucketPolicy", "").contains("empty"));
        assert!(bad(Protocol::Xml, "GetBucketPolicy", "{\"Version\":").contains("JSON"));
        assert!(bad(Protocol::Json, "PutConfigRule", "{").contains("JSON"));
        assert!(bad(Protocol::Xml, "GetBucketAcl", "<a></b>").contains("XML"));
        assert!(bad(Protocol::Xml, "GetBucketAcl", "<a/><b/>").contains("XML"));
        // Complete documents without a member the API always returns.
        let no_buckets = LIST
            .replace("<Buckets>", "<X>")
            .replace("</Buckets>", "</X>");
        assert!(bad(Protocol::Xml, "ListBuckets", &no_buckets).contains("no Buckets"));
        assert!(bad(Protocol::Json, "DescribeConfigRules", "{}").contains("no ConfigRules"));
        assert!(bad(
            Protocol::Json,
            "DescribeConfigRules",
            "{\"ConfigRules\": null}"
        )
        .contains("no ConfigRules"));
        assert!(bad(
            Protocol::Xml,
            "GetBucketPolicy",
            "{\"Version\": \"2012-10-17\"}"
        )
        .contains("no Statement"));
        let identity = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>a</Arn><UserId>u</UserId></GetCallerIdentityResult></GetCallerIdentityResponse>";
        assert!(bad(Protocol::Xml, "GetCallerIdentity", identity).contains("no Account"));
        let wrong_length = response(200, LIST, Some("10000"));
        assert!(answer_problem(Protocol::Xml, "ListBuckets", &wrong_length)
            .unwrap()
            .contains("Content-Length"));
    }

    #[test]
    fn error_answers_are_checked_but_server_errors_are_left_to_retries() {
        let err = "<Error><Code>NoSuchBucketPolicy</Code><Message>none</Message></Error>";
        assert_eq!(
            answer_problem(Protocol::Xml, "GetBucketPolicy", &response(404, err, None)),
            None,
            "an S3 error is XML even for the policy operation"
        );
        let cut = answer_problem(
            Protocol::Xml,
            "GetBucketPolicy",
            &response(404, &err[..30], None),
        );
        assert!(cut.unwrap().starts_with("HTTP 404"));
        assert_eq!(
            answer_problem(Protocol::Xml, "GetBucketAcl", &response(403, "", None)),
            None
        );
        assert_eq!(
            answer_problem(
                Protocol::Xml,
                "GetBucketAcl",
                &response(500, "<html>", None)
            ),
            None
        );
    }
}
