//! The dashboard's four endpoints (checkout, portal, status, change-plan):
//! one `Dashboard` built once at cold start, one handler per route, and the
//! shared edges — identity from the JWT claims, strict bodies, the Polo
//! budget, and the single error-to-HTTP mapping in [`answer`].

pub mod answer;
mod change_plan;
mod checkout;
pub mod identity;
mod portal;
mod status;
pub mod urls;

pub use answer::{BillingResult, CheckoutMode, Code, DashboardError};
pub use status::{CheckoutProgress, StatusView};
pub use urls::UrlPolicy;

use crate::accounts::AccountStore;
use crate::clock::Clock;
use crate::config::BillingProvider;
use crate::domain::{AccountBilling, AccountId, PlanTier};
use crate::http::deadline::lambda_deadline;
use crate::polo::catalogue::Catalogue;
use crate::polo::ports::BillingApi;
use crate::redact::{is_field_name, safe_path};
use crate::telemetry::{take_cold_start, MetricSink};
use crate::updater::AccountUpdater;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tracing::{info, Instrument};
use url::Url;

/// Dashboard bodies are a few fields; anything larger is refused unread.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// design.md "Dashboard contract": Polo gets 6 s, retries included, inside
/// the function's 10 s timeout.
pub const POLO_BUDGET: Duration = Duration::seconds(6);
/// Kept back from the Lambda deadline to write the answer.
const ANSWER_MARGIN: Duration = Duration::milliseconds(500);
/// What a re-read after a failed change may take (beyond Polo's budget,
/// within the Lambda's timeout).
const REREAD_BUDGET: Duration = Duration::seconds(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Checkout,
    Portal,
    Status,
    ChangePlan,
}

impl Route {
    pub const ALL: [Route; 4] = [
        Route::Checkout,
        Route::Portal,
        Route::Status,
        Route::ChangePlan,
    ];

    pub fn function_name(self) -> &'static str {
        match self {
            Self::Checkout => "checkout",
            Self::Portal => "portal",
            Self::Status => "status",
            Self::ChangePlan => "change-plan",
        }
    }

    /// `METHOD /path` as API Gateway routes it.
    pub fn route_key(self) -> &'static str {
        match self {
            Self::Checkout => "POST /api/billing/checkout",
            Self::Portal => "POST /api/billing/portal",
            Self::Status => "GET /api/billing/status",
            Self::ChangePlan => "POST /api/billing/plan",
        }
    }
}

/// Settings the handlers read (from `DashboardConfig`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub urls: UrlPolicy,
    pub billing_provider: BillingProvider,
    pub paypal_checkout_url: Url,
    pub paypal_manage_url: Url,
    pub account_id_claim: String,
    pub polo_budget: Duration,
}

/// Everything the four functions need, built once at cold start.
pub struct Dashboard {
    pub accounts: Arc<dyn AccountStore>,
    pub updater: Arc<AccountUpdater>,
    pub polo: Arc<dyn BillingApi>,
    pub catalogue: Arc<Catalogue>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricSink>,
    pub settings: Settings,
}

/// A successful answer's body.
enum Reply {
    Billing(BillingResult),
    Status(StatusView),
}

/// What one request carries into a route handler.
struct Call<'a> {
    account: AccountId,
    request: &'a Request,
    request_id: String,
    deadline: OffsetDateTime,
    /// For a re-read after a change whose outcome is unknown: a budget of
    /// its own, never past the Lambda deadline less the answer margin.
    reread_deadline: OffsetDateTime,
}

impl Dashboard {
    /// Answers one request. Never fails: every outcome is an HTTP answer.
    pub async fn handle(&self, route: Route, request: Request) -> Response<Body> {
        let context = request.lambda_context_ref();
        let request_id = context.map(|c| c.request_id.clone()).unwrap_or_default();
        let deadline_ms = context.map(|c| c.deadline).unwrap_or(0);
        let span = tracing::info_span!(
            "dashboard",
            request_id = %request_id,
            function = route.function_name(),
            cold_start = take_cold_start(),
            account_id = tracing::field::Empty,
        );
        async {
            let outcome = self.reply(route, &request, request_id, deadline_ms).await;
            let (status, code, response) = match outcome {
                Ok(Reply::Billing(result)) => {
                    let code = result.code.map_or("ok", Code::as_str);
                    let status = result.code.map_or(200, Code::status);
                    (status, code, answer::json_response(status, &result))
                }
                Ok(Reply::Status(view)) => (200, "ok", answer::json_response(200, &view)),
                Err(err) => {
                    let code = err.code();
                    let result = err.into_result();
                    (
                        code.status(),
                        code.as_str(),
                        answer::json_response(code.status(), &result),
                    )
                }
            };
            self.metrics.count(
                "DashboardOutcome",
                &[("Function", route.function_name()), ("Code", code)],
            );
            info!(status, code, "dashboard answered");
            response
        }
        .instrument(span)
        .await
    }

    async fn reply(
        &self,
        route: Route,
        request: &Request,
        request_id: String,
        deadline_ms: u64,
    ) -> Result<Reply, DashboardError> {
        let account = identity::account_id(request, &self.settings.account_id_claim)?;
        tracing::Span::current().record("account_id", account.as_str());
        let deadline = self.deadline(deadline_ms);
        let call = Call {
            account,
            request,
            request_id,
            deadline,
            reread_deadline: self.reread_deadline(deadline, deadline_ms),
        };
        match route {
            Route::Checkout => checkout::checkout(self, &call).await.map(Reply::Billing),
            Route::Portal => portal::portal(self, &call).await.map(Reply::Billing),
            Route::Status => status::status(self, &call).await.map(Reply::Status),
            Route::ChangePlan => change_plan::change_plan(self, &call)
                .await
                .map(Reply::Billing),
        }
    }

    /// Polo's budget, and never past the Lambda deadline less a margin.
    /// Deadlines are wall-clock instants (the HTTP layer compares them with
    /// real time), so the budget starts from real time, not from the domain
    /// clock, which the local stack moves forward.
    fn deadline(&self, lambda_deadline_ms: u64) -> OffsetDateTime {
        let budget = OffsetDateTime::now_utc() + self.settings.polo_budget;
        match lambda_deadline(lambda_deadline_ms) {
            Some(deadline) => budget.min(deadline - ANSWER_MARGIN),
            None => budget,
        }
    }

    fn reread_deadline(&self, deadline: OffsetDateTime, lambda_deadline_ms: u64) -> OffsetDateTime {
        let wanted = deadline.max(OffsetDateTime::now_utc()) + REREAD_BUDGET;
        match lambda_deadline(lambda_deadline_ms) {
            Some(limit) => wanted.min(limit - ANSWER_MARGIN),
            None => wanted,
        }
    }

    /// The caller's stored billing state; an account with no billing
    /// history yet reads as a fresh free account.
    async fn account_or_new(&self, id: &AccountId) -> Result<AccountBilling, DashboardError> {
        Ok(self
            .accounts
            .get(id)
            .await
            .map_err(DashboardError::internal)?
            .unwrap_or_else(|| AccountBilling::new(id.clone())))
    }
}

/// Parses a JSON body strictly: unknown fields and wrong types are refused,
/// naming the field.
fn parse_body<T: DeserializeOwned>(request: &Request) -> Result<T, DashboardError> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(DashboardError::invalid("body", "larger than 16 KiB"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DashboardError::invalid(
            "body",
            "missing (a JSON object is required)",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = safe_path(&e.path().to_string());
        let (field, problem) = describe(path, e.inner());
        DashboardError::InvalidRequest { field, problem }
    })?;
    // The streaming parse stops after the first value: bytes after it
    // (`{..}x`) make the body not one JSON document.
    de.end().map_err(|e| {
        let (field, problem) = describe(None, &e);
        DashboardError::InvalidRequest { field, problem }
    })?;
    Ok(value)
}

/// The first `` `name` `` in serde's message: a field name of ours (missing,
/// duplicate) or the caller's key (unknown field).
fn quoted(message: &str) -> Option<&str> {
    message.split('`').nth(1)
}

/// What serde expected: our type's description, never the caller's value
/// (serde puts the value before ", expected").
fn expected(message: &str) -> String {
    message
        .split_once("expected ")
        .map(|(_, what)| what.replace('`', ""))
        .unwrap_or_else(|| "of another type".to_owned())
}

/// The field path and the kind of problem, from a serde error, without any
/// of the caller's values: serde's own messages quote them (``unknown
/// variant `x` ``, `invalid type: string "x"`), so only the parts that come
/// from our types are kept.
fn describe(path: Option<String>, err: &serde_json::Error) -> (String, String) {
    use serde_json::error::Category;
    let at = |path: Option<String>| path.unwrap_or_else(|| "body".to_owned());
    if !matches!(err.classify(), Category::Data) {
        let problem = if err.to_string().contains("recursion limit") {
            "nested too deeply"
        } else {
            "not valid JSON"
        };
        return ("body".to_owned(), problem.to_owned());
    }
    let message = err.to_string();
    let message = message.split(" at line ").next().unwrap_or_default();
    let child = |name: Option<&str>| match (path.clone(), name.filter(|n| is_field_name(n))) {
        (Some(p), Some(n)) if !p.ends_with(n) => format!("{p}.{n}"),
        (None, Some(n)) => n.to_owned(),
        (p, _) => at(p),
    };
    if message.starts_with("unknown field") {
        (child(quoted(message)), "unknown field".to_owned())
    } else if message.starts_with("missing field") {
        (child(quoted(message)), "missing".to_owned())
    } else if message.starts_with("duplicate field") {
        (child(quoted(message)), "given twice".to_owned())
    } else if message.starts_with("unknown variant") || message.starts_with("invalid") {
        (at(path), format!("must be {}", expected(message)))
    } else {
        (at(path), "malformed".to_owned())
    }
}

/// A tier we sell, or `unknown_plan`.
fn sold_tier(raw: &str) -> Result<PlanTier, DashboardError> {
    PlanTier::parse(raw)
        .filter(|t| PlanTier::SOLD.contains(t))
        .ok_or(DashboardError::UnknownPlan)
}
