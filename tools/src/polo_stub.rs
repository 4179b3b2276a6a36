//! A minimal stand-in for the Polo API calls our functions make — get a
//! subscription, create and get a checkout, create a customer session,
//! change a subscription's product — over an in-memory Polo, behind a
//! bearer-token check. The binary smoke tests (functions/tests) still use
//! it; the Polo sandbox (`tools::sandbox`) serves everything else over HTTP
//! (issue 15 retires this one in its favour).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use billing::domain::{AccountId, CheckoutId, PlanTier, ProductId, SubscriptionId};
use billing::polo::memory::InMemoryPolo;
use billing::polo::ports::{
    BillingApi, CheckoutSession, NewCheckout, Proration, SubscriptionChange, TrialOffer,
};
use billing::polo::ports::{PoloError, SubscriptionLookup};
use serde_json::{json, Value};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

pub struct PoloStub {
    pub polo: Arc<InMemoryPolo>,
    api_key: String,
}

type Answer = (StatusCode, [(&'static str, &'static str); 1], String);

fn answer(status: StatusCode, body: Value) -> Answer {
    (
        status,
        [("x-request-id", "req_polo_stub")],
        body.to_string(),
    )
}

fn polo_error(err: PoloError) -> Answer {
    match err {
        PoloError::NotFound => answer(
            StatusCode::NOT_FOUND,
            json!({"error": "ResourceNotFound", "detail": "Not found"}),
        ),
        other => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "Unavailable", "detail": other.to_string()}),
        ),
    }
}

fn invalid(detail: &str) -> Answer {
    answer(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": "RequestValidationError", "detail": detail}),
    )
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(1)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl PoloStub {
    pub fn new(polo: Arc<InMemoryPolo>, api_key: &str) -> Self {
        Self {
            polo,
            api_key: api_key.to_owned(),
        }
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/v1/subscriptions/{id}",
                get(subscription).patch(update_subscription),
            )
            .route("/v1/subscriptions/", get(subscriptions))
            .route("/v1/checkouts/", post(create_checkout))
            .route("/v1/checkouts/{id}", get(checkout))
            .route("/v1/customer-sessions/", post(customer_session))
            .with_state(self)
    }

    fn refuses(&self, headers: &HeaderMap) -> Option<Answer> {
        let authorised = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.strip_prefix("Bearer ") == Some(self.api_key.as_str()));
        (!authorised).then(|| {
            answer(
                StatusCode::UNAUTHORIZED,
                json!({"error": "Unauthorized", "detail": "invalid token"}),
            )
        })
    }
}

fn checkout_json(c: &CheckoutSession) -> Value {
    json!({
        "id": c.id.as_str(),
        "url": c.url,
        "client_secret": c.client_secret,
        "status": c.state.as_str(),
        "expires_at": rfc3339(c.expires_at),
        "external_customer_id": c.account.as_ref().map(AccountId::as_str),
        "subscription_id": c.subscription.as_ref().map(SubscriptionId::as_str),
        "metadata": {}
    })
}

async fn subscription(
    State(stub): State<Arc<PoloStub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    if let Some(refused) = stub.refuses(&headers) {
        return refused;
    }
    let Ok(id) = SubscriptionId::parse(&id) else {
        return polo_error(PoloError::NotFound);
    };
    match stub.polo.get_subscription(&id, deadline()).await {
        Ok(s) => answer(StatusCode::OK, serde_json::to_value(&s).unwrap_or_default()),
        Err(err) => polo_error(err),
    }
}

#[derive(serde::Deserialize)]
struct SubscriptionsQuery {
    external_customer_id: String,
}

/// `GET /v1/subscriptions/?external_customer_id=`: one page holding all.
async fn subscriptions(
    State(stub): State<Arc<PoloStub>>,
    Query(q): Query<SubscriptionsQuery>,
    headers: HeaderMap,
) -> Answer {
    if let Some(refused) = stub.refuses(&headers) {
        return refused;
    }
    let Ok(account) = AccountId::parse(&q.external_customer_id) else {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "RequestValidationError", "detail": "external_customer_id"}),
        );
    };
    match stub.polo.list_subscriptions(&account, 1, deadline()).await {
        Ok(page) => {
            let total = page.items.len();
            answer(
                StatusCode::OK,
                json!({"items": page.items, "pagination": {"total_count": total, "max_page": 1}}),
            )
        }
        Err(err) => polo_error(err),
    }
}

async fn update_subscription(
    State(stub): State<Arc<PoloStub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    if let Some(refused) = stub.refuses(&headers) {
        return refused;
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let (Ok(id), Some(product)) = (
        SubscriptionId::parse(&id),
        body["product_id"]
            .as_str()
            .and_then(|p| ProductId::parse(p).ok()),
    ) else {
        return invalid("product_id: required");
    };
    let proration = match body["proration_behavior"].as_str() {
        Some("invoice") => Proration::ChargeNow,
        _ => Proration::NextInvoice,
    };
    let change = SubscriptionChange::Product { product, proration };
    match stub
        .polo
        .update_subscription(&id, &change, deadline())
        .await
    {
        Ok(s) => answer(StatusCode::OK, serde_json::to_value(&s).unwrap_or_default()),
        Err(err) => polo_error(err),
    }
}

async fn create_checkout(
    State(stub): State<Arc<PoloStub>>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    if let Some(refused) = stub.refuses(&headers) {
        return refused;
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let text = |field: &str| body[field].as_str().map(str::to_owned);
    let account = text("external_customer_id").and_then(|a| AccountId::parse(&a).ok());
    let product = body["products"][0]
        .as_str()
        .and_then(|p| ProductId::parse(p).ok());
    let tier = body["metadata"]["planTier"]
        .as_str()
        .and_then(PlanTier::parse);
    let (Some(account), Some(product), Some(tier), Some(success_url), Some(return_url)) = (
        account,
        product,
        tier,
        text("success_url"),
        text("return_url"),
    ) else {
        return invalid("external_customer_id, products, metadata.planTier, success_url and return_url are required");
    };
    let trial = match (
        body["allow_trial"].as_bool(),
        body["trial_interval_count"].as_u64(),
    ) {
        (Some(false), _) => TrialOffer::Refused,
        (_, Some(days)) => TrialOffer::Days(u32::try_from(days).unwrap_or(u32::MAX)),
        _ => TrialOffer::ProductDefault,
    };
    let new = NewCheckout {
        account,
        tier,
        product,
        success_url,
        return_url,
        embed_origin: text("embed_origin"),
        trial,
        idempotency_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    match stub.polo.create_checkout(&new, deadline()).await {
        Ok(c) => answer(StatusCode::CREATED, checkout_json(&c)),
        Err(err) => polo_error(err),
    }
}

async fn checkout(
    State(stub): State<Arc<PoloStub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    if let Some(refused) = stub.refuses(&headers) {
        return refused;
    }
    let Ok(id) = CheckoutId::parse(&id) else {
        return polo_error(PoloError::NotFound);
    };
    match stub.polo.get_checkout(&id, deadline()).await {
        Ok(c) => answer(StatusCode::OK, checkout_json(&c)),
        Err(err) => polo_error(err),
    }
}

async fn customer_session(
    State(stub): State<Arc<PoloStub>>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    if let Some(refused) = stub.refuses(&headers) {
        return refused;
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let (Some(account), Some(return_url)) = (
        body["external_customer_id"]
            .as_str()
            .and_then(|a| AccountId::parse(a).ok()),
        body["return_url"].as_str(),
    ) else {
        return invalid("external_customer_id and return_url are required");
    };
    match stub
        .polo
        .create_portal_session(&account, return_url, deadline())
        .await
    {
        Ok(session) => answer(
            StatusCode::CREATED,
            json!({
                "id": "cs_stub",
                "token": "polo_stub_session_token",
                "expires_at": rfc3339(session.expires_at),
                "customer_portal_url": session.url,
                "customer_id": "cus_stub"
            }),
        ),
        Err(err) => polo_error(err),
    }
}
