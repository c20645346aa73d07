//! Reaching one target: credentials, SDK configuration, request counting, and turning
//! SDK errors into [`Problem`]s.
//!
//! Secrets stay in the SDK's credential types: nothing here formats them, and the
//! SDK's own tracing is capped at `warn` (see main.rs) because its debug output can
//! include request headers.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
pub use aws_config::retry::RetryMode;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_iam::config::retry::RetryPartition;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::answers::{AnswerCheck, Protocol};
use crate::model::{Problem, Section};
use crate::targets::Target;

/// How collection reaches AWS, from the command line.
#[derive(Debug, Clone)]
pub struct Connection {
    /// One endpoint for every service (moto, LocalStack); S3 then uses path-style URLs.
    pub endpoint_url: Option<String>,
    /// Regions from `--region`; a target's own `Regions` win.
    pub regions: Vec<String>,
    /// Attempts per request, retries included.
    pub max_attempts: u32,
    /// The SDK's retry mode: `Adaptive` also rate-limits a client after throttling.
    pub retry_mode: RetryMode,
}

/// Counts every HTTP request the SDK sends (retries included), by `service:Operation`.
#[derive(Debug, Clone, Default)]
pub struct ApiCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl ApiCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// The interceptor for one service's client.
    pub fn for_service(&self, service: &'static str) -> CountingInterceptor {
        CountingInterceptor {
            service,
            counts: self.counts.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CountingInterceptor {
    service: &'static str,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "CloudKestrelApiCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        tracing::trace!("request {}:{op}", self.service);
        if let Ok(mut m) = self.counts.lock() {
            *m.entry(format!("{}:{op}", self.service)).or_default() += 1;
        }
        Ok(())
    }
}

/// Why a target's credentials could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CredentialsError(pub String);

/// The SDK configuration for a target, in its home region, and what setting it up
/// could not do: a missing environment variable (a `CredentialsError`), or a role that
/// could not be assumed (the `sts:AssumeRole` problem). The role is assumed here, once,
/// with a client that counts and checks its answers like every other (`counter`): the
/// SDK's own role provider would call STS with a client of its own, uncounted and
/// unchecked.
pub async fn sdk_config(
    target: &Target,
    conn: &Connection,
    region: &str,
    counter: &ApiCounter,
) -> Result<SdkConfig, Problem> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(
            match conn.retry_mode {
                RetryMode::Adaptive => RetryConfig::adaptive(),
                _ => RetryConfig::standard(),
            }
            .with_max_attempts(conn.max_attempts.max(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(url) = &conn.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(c) = &target.credentials {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    crate::collect::missing_credentials(CredentialsError(format!(
                        "environment variable {name} (Credentials of target {}) is not set",
                        target.name
                    )))
                })
        };
        let key = var(&c.access_key_id_var)?;
        let secret = var(&c.secret_access_key_var)?;
        loader =
            loader.credentials_provider(Credentials::new(key, secret, None, None, "targets.json"));
    }
    let mut config = loader.load().await;
    // Each role from the credentials the one before it gave (an organization member's
    // role after the entry's own RoleArn).
    for step in &target.roles {
        let role = AssumedRole {
            sts: sts_client(&config, counter),
            role_arn: step.arn.clone(),
            external_id: step.external_id.clone(),
            primed: Mutex::new(None),
        };
        let first = role.assume().await?;
        *role.primed.lock().unwrap_or_else(|e| e.into_inner()) = Some(first);
        config = config
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(role),
            )
            .build();
    }
    Ok(config)
}

/// Credentials of a role, from `sts:AssumeRole` with a counted and checked client.
/// The SDK's identity cache asks again shortly before they expire.
#[derive(Debug)]
struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    external_id: Option<String>,
    /// The credentials `sdk_config` obtained, handed out first (not asked for twice).
    primed: Mutex<Option<Credentials>>,
}

impl AssumedRole {
    const OPERATION: &'static str = "sts:AssumeRole";

    async fn assume(&self) -> Result<Credentials, Problem> {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name("cloudkestrel")
            .set_external_id(self.external_id.clone())
            .send()
            .await
            .map_err(|e| {
                let mut p = problem(Section::Identity, Self::OPERATION, &e);
                p.message = format!("cannot assume {}: {}", self.role_arn, p.message);
                p
            })?;
        let malformed_answer = |what: &str| {
            malformed(
                Section::Identity,
                Self::OPERATION,
                format!("the answer for {} has no {what}", self.role_arn),
            )
        };
        let c = out
            .credentials()
            .ok_or_else(|| malformed_answer("Credentials"))?;
        let expiry = std::time::SystemTime::try_from(*c.expiration())
            .map_err(|_| malformed_answer("valid Expiration"))?;
        for (what, value) in [
            ("AccessKeyId", c.access_key_id()),
            ("SecretAccessKey", c.secret_access_key()),
            ("SessionToken", c.session_token()),
        ] {
            if value.is_empty() {
                return Err(malformed_answer(what));
            }
        }
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            Some(expiry),
            "sts:AssumeRole",
        ))
    }
}

impl aws_credential_types::provider::ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            let primed = self.primed.lock().unwrap_or_else(|e| e.into_inner()).take();
            match primed {
                Some(c) => Ok(c),
                None => self.assume().await.map_err(|p| {
                    aws_credential_types::provider::error::CredentialsError::provider_error(
                        p.to_string(),
                    )
                }),
            }
        })
    }
}

/// A problem from an SDK error: the AWS error code where there is one, otherwise what
/// kind of failure it was (timeout, connection, malformed response).
pub fn problem<E, R>(section: Section, operation: &str, err: &SdkError<E, R>) -> Problem
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + HttpStatus + 'static,
{
    let status = err.raw_response().map(HttpStatus::status_code);
    let (code, message) = match err {
        SdkError::ServiceError(s) => (
            s.err().code().unwrap_or("UnknownServiceError").to_string(),
            s.err()
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| error_chain(err)),
        ),
        SdkError::TimeoutError(_) => ("Timeout".to_string(), error_chain(err)),
        SdkError::DispatchFailure(_) => ("ConnectionFailure".to_string(), error_chain(err)),
        SdkError::ResponseError(_) => ("MalformedResponse".to_string(), error_chain(err)),
        SdkError::ConstructionFailure(_) => {
            ("RequestConstructionFailure".to_string(), error_chain(err))
        }
        _ => ("Unknown".to_string(), error_chain(err)),
    };
    let message = match status {
        Some(s) if !message.contains(&format!("HTTP {s}")) => format!("HTTP {s}: {message}"),
        _ => message,
    };
    Problem {
        section,
        operation: operation.to_string(),
        error_code: code,
        message,
        region: None,
        resource: None,
    }
}

/// The HTTP status of a raw response, where there is one.
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The error and its sources, on one line.
pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}

/// A problem that is not an SDK error (a malformed document, a missing field).
pub fn malformed(section: Section, operation: &str, message: impl Into<String>) -> Problem {
    Problem {
        section,
        operation: operation.to_string(),
        error_code: "MalformedResponse".to_string(),
        message: message.into(),
        region: None,
        resource: None,
    }
}

/// A field an answer must carry (a name, an ARN, a grantee): its absence is a
/// malformed answer, never an empty value that a rule could then read as "nothing
/// there" and pass.
pub fn required<T>(
    value: Option<T>,
    section: Section,
    operation: &str,
    what: impl FnOnce() -> String,
) -> Result<T, Problem> {
    value.ok_or_else(|| malformed(section, operation, format!("{} is missing", what())))
}

/// The AWS error code of an SDK error, if it is a service error.
pub fn code_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// smithy → chrono.
pub fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// S3 Control endpoint for `--endpoint-url`: the SDK would put the account id in front
/// of the host (`123456789012.127.0.0.1`), which does not resolve for a local endpoint.
#[derive(Debug)]
pub struct FixedS3ControlEndpoint(pub String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedS3ControlEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_smithy_types::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// The STS client that assumes a target's roles, from the credentials before them:
/// counted and its answers checked.
fn sts_client(sdk: &SdkConfig, counter: &ApiCounter) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .interceptor(counter.for_service("sts"))
            .interceptor(AnswerCheck::new(Protocol::Xml))
            .build(),
    )
}

/// Every service client a collection needs, each counting its requests and checking
/// that every answer is complete ([`AnswerCheck`]).
#[derive(Clone)]
pub struct Clients {
    pub sdk: SdkConfig,
    pub counter: ApiCounter,
    pub endpoint_url: Option<String>,
    /// This collection's share of the SDK's retry state ([`Clients::partition`]).
    partition: u64,
    pub sts: aws_sdk_sts::Client,
    pub iam: aws_sdk_iam::Client,
    pub s3control: aws_sdk_s3control::Client,
}

impl Clients {
    /// The clients of one target, counting into `counter` (the one `sdk_config` used,
    /// so that an `sts:AssumeRole` call is counted with the rest).
    pub fn new(sdk: SdkConfig, endpoint_url: Option<String>, counter: ApiCounter) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let partition = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let home = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let part = |service: &str| Self::partition_of(partition, service, &home);
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&sdk)
                .retry_partition(part("sts"))
                .interceptor(counter.for_service("sts"))
                .interceptor(AnswerCheck::new(Protocol::Xml))
                .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&sdk)
                .retry_partition(part("iam"))
                .interceptor(counter.for_service("iam"))
                .interceptor(AnswerCheck::new(Protocol::Xml))
                .build(),
        );
        let mut s3c = aws_sdk_s3control::config::Builder::from(&sdk)
            .retry_partition(part("s3control"))
            .interceptor(counter.for_service("s3control"))
            .interceptor(AnswerCheck::new(Protocol::Xml));
        if let Some(url) = &endpoint_url {
            s3c = s3c.endpoint_resolver(FixedS3ControlEndpoint(url.clone()));
        }
        let s3control = aws_sdk_s3control::Client::from_conf(s3c.build());
        Clients {
            sdk,
            counter,
            endpoint_url,
            partition,
            sts,
            iam,
            s3control,
        }
    }

    /// The SDK's retry state (its retry quota, and the adaptive mode's rate limiter)
    /// for `service` in `region` of this collection alone. The SDK keeps that state per
    /// partition name for the whole process, by default one per service and region: the
    /// accounts collected at once would share it, and one throttled account would slow
    /// all of them, while AWS throttles each account on its own. (The `sts:AssumeRole`
    /// calls of an organization's members are the entry's own account's, and keep the
    /// default partition: they are throttled together.)
    fn partition_of(id: u64, service: &str, region: &str) -> RetryPartition {
        RetryPartition::new(format!("{service}-{region}-collection{id}"))
    }

    fn partition(&self, service: &str, region: &str) -> RetryPartition {
        Self::partition_of(self.partition, service, region)
    }

    /// The Organizations client (a global service: the home region's endpoint).
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        let home = self.sdk.region().map(|r| r.to_string()).unwrap_or_default();
        aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(&self.sdk)
                .retry_partition(self.partition("organizations", &home))
                .interceptor(self.counter.for_service("organizations"))
                .interceptor(AnswerCheck::new(Protocol::Json))
                .build(),
        )
    }

    pub fn config(&self, region: &str) -> aws_sdk_config::Client {
        aws_sdk_config::Client::from_conf(
            aws_sdk_config::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .retry_partition(self.partition("config", region))
                .interceptor(self.counter.for_service("config"))
                .interceptor(AnswerCheck::new(Protocol::Json))
                .build(),
        )
    }

    /// An S3 client for `region`; path-style addressing with a custom endpoint.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .retry_partition(self.partition("s3", region))
                .force_path_style(self.endpoint_url.is_some())
                .interceptor(self.counter.for_service("s3"))
                .interceptor(AnswerCheck::new(Protocol::Xml))
                .build(),
        )
    }
}

/// How a paginated list must end, checked page by page: the SDK's paginators stop
/// quietly when a page repeats the previous page's marker, and IAM's ignore
/// `IsTruncated`, so a list could otherwise end early without an error.
#[derive(Debug, Default)]
pub struct PageTrail {
    last: Option<String>,
}

impl PageTrail {
    /// IAM: `IsTruncated` says whether another page follows, and the `Marker` to ask
    /// for it is given exactly then.
    pub fn truncated(&mut self, is_truncated: bool, marker: Option<&str>) -> Result<(), String> {
        let marker = marker.filter(|m| !m.is_empty());
        match (is_truncated, marker) {
            (true, None) => Err("the answer says the list goes on (IsTruncated) but gives no Marker for the next page".into()),
            (false, Some(_)) => Err("the answer says the list is complete (IsTruncated false) but gives a Marker for a next page".into()),
            (_, m) => self.token(m),
        }
    }

    /// S3, AWS Config, Organizations: a token means another page; the same token twice
    /// would end the SDK's paginator without a word.
    pub fn token(&mut self, token: Option<&str>) -> Result<(), String> {
        let token = token.filter(|t| !t.is_empty());
        if token.is_some() && token == self.last.as_deref() {
            return Err("the answer gives the same pagination token as the page before: the list would end early".into());
        }
        self.last = token.map(str::to_string);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PageTrail;

    #[test]
    fn lists_end_where_the_api_says() {
        let mut t = PageTrail::default();
        assert!(t.truncated(true, Some("m1")).is_ok());
        assert!(t.truncated(true, Some("m2")).is_ok());
        assert!(t.truncated(false, None).is_ok());
        // IsTruncated without a marker, a marker on the last page, a marker repeated.
        assert!(PageTrail::default().truncated(true, None).is_err());
        assert!(PageTrail::default().truncated(true, Some("")).is_err());
        assert!(PageTrail::default().truncated(false, Some("m")).is_err());
        let mut t = PageTrail::default();
        t.truncated(true, Some("m")).unwrap();
        assert!(t.truncated(true, Some("m")).is_err());
        let mut t = PageTrail::default();
        t.token(Some("a")).unwrap();
        assert!(t
            .token(Some("a"))
            .unwrap_err()
            .contains("same pagination token"));
        assert!(PageTrail::default().token(None).is_ok());
        assert!(PageTrail::default().token(Some("")).is_ok());
    }

    /// Two collections (two accounts at once) never share the SDK's retry quota or
    /// rate limiter; one collection's clients of a service and region do.
    #[test]
    fn each_collection_has_retry_state_of_its_own() {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let a = super::Clients::new(sdk.clone(), None, super::ApiCounter::default());
        let b = super::Clients::new(sdk, None, super::ApiCounter::default());
        let part = |c: &super::Clients| c.iam.config().retry_partition().cloned();
        assert!(part(&a).is_some());
        assert_ne!(part(&a), part(&b));
        assert_eq!(
            a.s3("eu-west-1").config().retry_partition(),
            a.s3("eu-west-1").config().retry_partition()
        );
        assert_ne!(
            a.s3("eu-west-1").config().retry_partition(),
            a.s3("us-east-1").config().retry_partition()
        );
        assert_ne!(
            a.config("eu-west-1").config().retry_partition(),
            b.config("eu-west-1").config().retry_partition()
        );
    }
}
