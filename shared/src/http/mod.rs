//! The hardened outbound HTTP layer every adapter uses (`secure_fetch_json`):
//! https only (plain http only to loopback, and only with `STAGE=local`),
//! each attempt's timeout bounded by the Lambda's remaining deadline, a
//! response size cap, bounded retries with full jitter on 429/5xx/timeouts
//! honouring `Retry-After`, the same `Idempotency-Key` on every retry of a
//! POST, tokens injected per request from memory, the peer's request id
//! logged as the correlation id — and never a body or a token in a log.

pub mod deadline;
mod retry;

pub use retry::RetryPolicy;

use crate::secrets::SecretString;
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::time::Duration as StdDuration;
use time::OffsetDateTime;
use tracing::warn;
use url::Url;

/// Largest response body read (Polo's and Convex's answers are small).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Time kept back from the deadline so the caller can still answer.
const DEADLINE_MARGIN: StdDuration = StdDuration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused to send to a non-https URL")]
    InsecureUrl,
    #[error("no time left before the deadline")]
    DeadlineExceeded,
    #[error("request timed out")]
    Timeout,
    #[error("could not connect")]
    Connect(#[source] reqwest::Error),
    #[error("response larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    /// A non-2xx answer after retries (the body is kept for the caller to
    /// map, never logged here).
    #[error("answered HTTP {status}")]
    Status {
        status: u16,
        body: Vec<u8>,
        retry_after: Option<StdDuration>,
    },
    #[error("response body is not the expected JSON: {0}")]
    Decode(String),
}

impl FetchError {
    /// Worth another try later (by the caller's own retry or Polo's).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout | Self::Connect(_) | Self::DeadlineExceeded => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// One request, described without I/O.
pub struct FetchRequest<'a> {
    /// A short name for logs and metrics, e.g. `polo.get_subscription`.
    pub label: &'static str,
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    pub bearer: Option<&'a SecretString>,
    /// Applied to every attempt of a POST. `None` on a POST: one is made.
    pub idempotency_key: Option<String>,
    /// The Lambda's deadline: no attempt outlives it.
    pub deadline: OffsetDateTime,
}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct FetchResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
}

impl FetchResponse {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, FetchError> {
        // Plain serde_json on the way through; only a failure is parsed
        // again to name the field (tracking the path costs on every call).
        serde_json::from_slice(&self.body).map_err(|_| {
            let de = &mut serde_json::Deserializer::from_slice(&self.body);
            match serde_path_to_error::deserialize::<_, T>(de) {
                // Only bytes after the first value make the plain parse
                // fail where the streaming one succeeds.
                Ok(_) => FetchError::Decode("trailing bytes after the JSON value".into()),
                // Field names only: a peer's odd key is not echoed.
                Err(e) => FetchError::Decode(
                    crate::redact::safe_path(&e.path().to_string())
                        .unwrap_or_else(|| "the document".into()),
                ),
            }
        })
    }
}

/// Why the HTTP client could not be built (at cold start).
#[derive(Debug, thiserror::Error)]
pub enum HttpInitError {
    #[error("TLS configuration")]
    Tls(#[from] rustls::Error),
    #[error("HTTP client")]
    Client(#[from] reqwest::Error),
}

/// TLS with the Mozilla root set compiled in (webpki-roots): nothing is read
/// or parsed from the platform's certificate store at cold start (that scan
/// was most of our init time), and the roots are the same on every machine.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A reqwest client (rustls) built once at cold start, and the rules above.
#[derive(Debug, Clone)]
pub struct SecureHttp {
    client: reqwest::Client,
    allow_loopback_http: bool,
    retry: RetryPolicy,
}

impl SecureHttp {
    /// `allow_loopback_http` must be true only with `STAGE=local`.
    pub fn new(allow_loopback_http: bool, retry: RetryPolicy) -> Result<Self, HttpInitError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .user_agent(concat!("polo-billing/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(StdDuration::from_secs(2))
            .pool_idle_timeout(StdDuration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            allow_loopback_http,
            retry,
        })
    }

    /// Whether `url` may be called under these rules.
    pub fn permits(&self, url: &Url) -> bool {
        match url.scheme() {
            "https" => true,
            "http" => self.allow_loopback_http && is_loopback(url),
            _ => false,
        }
    }

    /// Sends with retries; `Ok` only for a 2xx answer.
    pub async fn send(&self, request: FetchRequest<'_>) -> Result<FetchResponse, FetchError> {
        if !self.permits(&request.url) {
            return Err(FetchError::InsecureUrl);
        }
        // One key for every retry of a POST or PATCH: a retried create is
        // the same create. (Our PATCH bodies also set absolute state —
        // a product, a flag, a revoke — so a retry lands in the same state
        // even where the key is not honoured.)
        let idempotency_key = match (&request.method, &request.idempotency_key) {
            (_, Some(key)) => Some(key.clone()),
            (m, None) if *m == Method::POST || *m == Method::PATCH => {
                Some(uuid::Uuid::new_v4().to_string())
            }
            _ => None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = std::time::Instant::now();
            let outcome = self.attempt(&request, idempotency_key.as_deref()).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (status, request_id) = match &outcome {
                Ok(r) => (Some(r.status), r.request_id.clone()),
                Err((FetchError::Status { status, .. }, id)) => (Some(*status), id.clone()),
                Err(_) => (None, None),
            };
            // A failed call, or one whose peer gave a request id (what Polo
            // support asks for), is an info line. A plain success is debug:
            // on the webhook path that is every Convex call, and the
            // delivery's own outcome line already says it went through, so
            // an info line per call only cost CPU and log volume per event.
            macro_rules! outbound_call {
                ($level:expr) => {
                    tracing::event!(
                        $level,
                        call = request.label,
                        method = %request.method,
                        host = request.url.host_str().unwrap_or(""),
                        path = request.url.path(),
                        status,
                        attempt,
                        elapsed_ms,
                        correlation_id = request_id.as_deref().unwrap_or(""),
                        "outbound call"
                    )
                };
            }
            if outcome.is_ok() && request_id.is_none() {
                outbound_call!(tracing::Level::DEBUG);
            } else {
                outbound_call!(tracing::Level::INFO);
            }
            let err = match outcome {
                Ok(response) => return Ok(response),
                Err((err, _)) => err,
            };
            let remaining = remaining(request.deadline);
            let retry_after = match &err {
                FetchError::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            match self
                .retry
                .wait_before(attempt, err.is_transient(), retry_after, remaining)
            {
                Some(wait) => {
                    warn!(call = request.label, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
                    tokio::time::sleep(wait).await;
                }
                None => return Err(err),
            }
        }
    }

    async fn attempt(
        &self,
        request: &FetchRequest<'_>,
        idempotency_key: Option<&str>,
    ) -> Result<FetchResponse, (FetchError, Option<String>)> {
        let budget = remaining(request.deadline).saturating_sub(DEADLINE_MARGIN);
        if budget.is_zero() {
            return Err((FetchError::DeadlineExceeded, None));
        }
        let mut builder = self
            .client
            .request(request.method.clone(), request.url.clone())
            .timeout(budget)
            .header("accept", "application/json");
        for (name, value) in &request.headers {
            let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                (
                    FetchError::Decode(format!("header {name} is not a valid value")),
                    None,
                )
            })?;
            // Credentials in headers (a Basic authorization) stay out of any
            // Debug output of the request.
            if name.eq_ignore_ascii_case("authorization") {
                value.set_sensitive(true);
            }
            builder = builder.header(*name, value);
        }
        let has_content_type = request
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if let Some(key) = idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        if let Some(token) = request.bearer {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        (
                            FetchError::Decode("bearer token is not a valid header".into()),
                            None,
                        )
                    })?;
            value.set_sensitive(true);
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(body) = &request.body {
            if !has_content_type {
                builder = builder.header("content-type", "application/json");
            }
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| (classify(e), None))?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(StdDuration::from_secs);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Err((FetchError::TooLarge, request_id));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err((classify(e), request_id)),
            }
        }
        if (200..300).contains(&status) {
            Ok(FetchResponse {
                status,
                body,
                request_id,
            })
        } else {
            Err((
                FetchError::Status {
                    status,
                    body,
                    retry_after,
                },
                request_id,
            ))
        }
    }
}

fn classify(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        FetchError::Timeout
    } else {
        FetchError::Connect(err)
    }
}

fn remaining(deadline: OffsetDateTime) -> StdDuration {
    let left = deadline - OffsetDateTime::now_utc();
    StdDuration::try_from(left).unwrap_or(StdDuration::ZERO)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Answer {
        account: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Inner {
        version: u64,
    }

    fn response(body: &str) -> FetchResponse {
        FetchResponse {
            status: 200,
            body: body.as_bytes().to_vec(),
            request_id: None,
        }
    }

    #[test]
    fn a_response_of_the_expected_shape_decodes() {
        let answer: Answer = response(r#"{"account":{"version":7}}"#).json().unwrap();
        assert_eq!(answer.account.version, 7);
    }

    #[test]
    fn a_response_of_another_shape_names_the_field_and_not_its_value() {
        let err = response(r#"{"account":{"version":"sk_live_not_a_number"}}"#)
            .json::<Answer>()
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::Decode(path) if path == "account.version"),
            "{err:?}"
        );
        assert!(!err.to_string().contains("sk_live"), "{err}");
    }

    #[test]
    fn a_response_with_bytes_after_its_json_value_does_not_decode() {
        let err = response(r#"{"account":{"version":7}}}x"#)
            .json::<Answer>()
            .unwrap_err();

        assert!(matches!(&err, FetchError::Decode(_)), "{err:?}");
    }

    #[test]
    fn plain_http_is_allowed_only_to_loopback_and_only_when_local() {
        let local = SecureHttp::new(true, RetryPolicy::default()).unwrap();
        let deployed = SecureHttp::new(false, RetryPolicy::default()).unwrap();
        let loopback = Url::parse("http://127.0.0.1:8080/x").unwrap();
        let localhost = Url::parse("http://localhost:8080/x").unwrap();
        let remote = Url::parse("http://api.polo.example/x").unwrap();
        let https = Url::parse("https://api.polo.example/x").unwrap();
        assert!(local.permits(&loopback) && local.permits(&localhost));
        assert!(!local.permits(&remote));
        assert!(!deployed.permits(&loopback));
        assert!(local.permits(&https) && deployed.permits(&https));
        assert!(!local.permits(&Url::parse("ftp://127.0.0.1/x").unwrap()));
    }
}
