//! The one place that turns a dashboard outcome into an HTTP answer
//! (design.md "Dashboard contract"): every answer is JSON; errors are a
//! BillingResult with `ok: false`, a `code` the dashboard can switch on and a
//! `message` it can show; 4xx messages say what was wrong, 5xx ones are
//! opaque (the cause chain goes to the log, never to the browser).

use crate::domain::{PlanTier, Provider};
use crate::polo::ports::PoloError;
use crate::telemetry::error_chain;
use lambda_http::{Body, Response};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::{error, warn};

/// Every `code` a dashboard answer can carry (docs/openapi.yaml lists the
/// same set; a test compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Unauthenticated,
    InvalidRequest,
    UnknownPlan,
    AlreadySubscribed,
    NoSubscription,
    SamePlan,
    CheckoutNotFound,
    ProviderPaypal,
    PoloUnavailable,
    OutcomeUnknown,
    Internal,
}

impl Code {
    pub const ALL: [Code; 11] = [
        Code::Unauthenticated,
        Code::InvalidRequest,
        Code::UnknownPlan,
        Code::AlreadySubscribed,
        Code::NoSubscription,
        Code::SamePlan,
        Code::CheckoutNotFound,
        Code::ProviderPaypal,
        Code::PoloUnavailable,
        Code::OutcomeUnknown,
        Code::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidRequest => "invalid_request",
            Self::UnknownPlan => "unknown_plan",
            Self::AlreadySubscribed => "already_subscribed",
            Self::NoSubscription => "no_subscription",
            Self::SamePlan => "same_plan",
            Self::CheckoutNotFound => "checkout_not_found",
            Self::ProviderPaypal => "provider_paypal",
            Self::PoloUnavailable => "polo_unavailable",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::Internal => "internal",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::ProviderPaypal => 200,
            Self::Unauthenticated => 401,
            Self::InvalidRequest | Self::UnknownPlan => 400,
            Self::AlreadySubscribed | Self::NoSubscription | Self::SamePlan => 409,
            Self::CheckoutNotFound => 404,
            Self::PoloUnavailable | Self::OutcomeUnknown => 502,
            Self::Internal => 500,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckoutMode {
    Redirect,
    Embedded,
}

/// The answer of checkout, portal and change-plan (and of every error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingResult {
    pub ok: bool,
    pub url: Option<String>,
    pub message: String,
    pub code: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<CheckoutMode>,
    /// The embedded checkout's secret: returned to its owner, never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
}

impl BillingResult {
    pub fn done(message: impl Into<String>, provider: Provider) -> Self {
        Self {
            ok: true,
            url: None,
            message: message.into(),
            code: None,
            mode: None,
            client_secret: None,
            checkout_id: None,
            expires_at: None,
            provider: Some(provider),
        }
    }

    /// `provider_paypal`: the legacy flow's URL (configured, never from input).
    pub fn paypal(url: &url::Url, message: impl Into<String>) -> Self {
        Self {
            url: Some(url.to_string()),
            code: Some(Code::ProviderPaypal),
            ..Self::done(message, Provider::Paypal)
        }
    }

    fn refusal(code: Code, message: String) -> Self {
        Self {
            ok: false,
            url: None,
            message,
            code: Some(code),
            mode: None,
            client_secret: None,
            checkout_id: None,
            expires_at: None,
            provider: None,
        }
    }
}

/// Why a dashboard request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("no account claim: {0}")]
    Unauthenticated(&'static str),
    #[error("{field}: {problem}")]
    InvalidRequest { field: String, problem: String },
    /// The tier asked for is not sold (the input is not kept: it is never
    /// echoed, not even in the log).
    #[error("plan tier not sold")]
    UnknownPlan,
    #[error("a Polo subscription that has not ended exists")]
    AlreadySubscribed,
    #[error("nothing to manage: {0}")]
    NoSubscription(&'static str),
    #[error("already on {0}")]
    SamePlan(PlanTier),
    #[error("checkout unknown or another account's")]
    CheckoutNotFound,
    /// Polo failed and nothing was done there (known: never sent, refused,
    /// or re-read unchanged).
    #[error("Polo failed")]
    PoloUnavailable(#[source] PoloError),
    /// Polo failed after it may have applied the change, and a re-read
    /// could not tell whether it did.
    #[error("Polo failed after it may have applied the change; the re-read failed too")]
    OutcomeUnknown(#[source] PoloError),
    #[error("internal: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DashboardError {
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        Self::InvalidRequest {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(err.into())
    }

    /// A Polo failure where no refusal has a meaning of its own: transient
    /// ones are `polo_unavailable`, the rest (our key, our request, Polo's
    /// contract) are ours to fix: `internal`.
    pub fn from_polo(err: PoloError) -> Self {
        if err.is_transient() {
            Self::PoloUnavailable(err)
        } else {
            Self::internal(err)
        }
    }

    pub fn code(&self) -> Code {
        match self {
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::InvalidRequest { .. } => Code::InvalidRequest,
            Self::UnknownPlan => Code::UnknownPlan,
            Self::AlreadySubscribed => Code::AlreadySubscribed,
            Self::NoSubscription(_) => Code::NoSubscription,
            Self::SamePlan(_) => Code::SamePlan,
            Self::CheckoutNotFound => Code::CheckoutNotFound,
            Self::PoloUnavailable(_) => Code::PoloUnavailable,
            Self::OutcomeUnknown(_) => Code::OutcomeUnknown,
            Self::Internal(_) => Code::Internal,
        }
    }

    /// User-facing copy; never an internal detail.
    fn message(&self) -> String {
        match self {
            Self::Unauthenticated(_) => "Sign in again to manage billing.".to_owned(),
            Self::InvalidRequest { field, problem } => format!("Invalid {field}: {problem}."),
            Self::UnknownPlan => "That plan is not offered. Choose starter, pro or enterprise."
                .to_owned(),
            Self::AlreadySubscribed => {
                "You already have an active Polo subscription. Change plan or manage it in the billing portal instead."
                    .to_owned()
            }
            Self::NoSubscription(_) => {
                "There is no Polo subscription to manage yet. Choose a plan first.".to_owned()
            }
            Self::SamePlan(tier) => format!("You are already on the {tier} plan."),
            Self::CheckoutNotFound => "That checkout was not found.".to_owned(),
            Self::PoloUnavailable(_) => {
                "Polo, our payment provider, is not responding. Nothing was charged or changed; please try again in a minute."
                    .to_owned()
            }
            Self::OutcomeUnknown(_) => {
                "Polo, our payment provider, stopped responding while making the change, and we could not confirm whether it went through. Check your plan again in a minute before trying again."
                    .to_owned()
            }
            Self::Internal(_) => "Something went wrong on our side. Please try again.".to_owned(),
        }
    }

    /// Logs the refusal (4xx: what; 5xx: the whole cause chain) and builds
    /// the answer.
    pub fn into_result(self) -> BillingResult {
        let code = self.code();
        if code.status() >= 500 {
            error!(code = code.as_str(), error = %error_chain(&self), "dashboard request failed");
        } else {
            warn!(code = code.as_str(), reason = %self, "dashboard request refused");
        }
        BillingResult::refusal(code, self.message())
    }
}

/// A JSON response (the body is our own serialisation: it cannot fail for
/// these types, but a failure still answers an opaque 500).
pub fn json_response(status: u16, body: &impl Serialize) -> Response<Body> {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => (
            500,
            r#"{"ok":false,"url":null,"message":"Something went wrong on our side. Please try again.","code":"internal"}"#
                .to_owned(),
        ),
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}
