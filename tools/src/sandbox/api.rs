//! The `/v1` API of polo-api.md: Bearer API key, Polo's error JSON
//! (`{"error", "detail"}`), armed faults, `Idempotency-Key` on POSTs.

use super::faults::Fault;
use super::lifecycle::Refusal;
use super::model::{customer_json, product_json};
use super::resources::{CheckoutCreate, CustomerCreate, SessionCreate};
use super::Sandbox;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

type Shared = State<Arc<Sandbox>>;
type Params = Query<HashMap<String, String>>;

pub fn routes(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/v1/checkouts/", post(create_checkout))
        .route("/v1/checkouts/{id}", get(get_checkout))
        .route("/v1/customer-sessions/", post(create_session))
        .route("/v1/subscriptions/", get(list_subscriptions))
        .route(
            "/v1/subscriptions/{id}",
            get(get_subscription).patch(update_subscription),
        )
        .route("/v1/customers/", post(create_customer))
        .route(
            "/v1/customers/external/{external_id}",
            get(customer_external),
        )
        .route("/v1/customers/{id}", get(get_customer))
        .route("/v1/products/", get(list_products))
        .route("/v1/{*rest}", axum::routing::any(not_found))
        .layer(axum::middleware::from_fn_with_state(sandbox.clone(), gate))
        .with_state(sandbox)
}

/// Polo's error JSON.
pub fn error(status: StatusCode, code: &str, detail: Value) -> Response {
    (status, axum::Json(json!({"error": code, "detail": detail}))).into_response()
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NotFound(what) => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            json!(format!("{what} not found")),
        ),
        Refusal::Invalid(field, msg) => validation(&field, &msg),
        Refusal::NotPermitted(msg) => error(StatusCode::FORBIDDEN, "NotPermitted", json!(msg)),
        Refusal::Conflict(msg) => error(StatusCode::CONFLICT, "AlreadyExists", json!(msg)),
    }
}

fn validation(field: &str, msg: &str) -> Response {
    let mut loc = vec![json!("body")];
    loc.extend(field.split('.').map(|s| json!(s)));
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "RequestValidationError",
        json!([{"loc": loc, "msg": msg, "type": "value_error"}]),
    )
}

async fn not_found() -> Response {
    refused(Refusal::NotFound("route"))
}

/// 429 `TooManyRequests` with `Retry-After` seconds.
fn too_many(retry_after: u64) -> Response {
    let mut answer = error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        json!("rate limit exceeded"),
    );
    if let Ok(value) = http::HeaderValue::from_str(&retry_after.to_string()) {
        answer.headers_mut().insert("retry-after", value);
    }
    answer
}

/// Armed faults first (as a rate limiter or load balancer would answer),
/// then the steady rate limit, then the API key.
async fn gate(State(sandbox): Shared, request: Request, next: Next) -> Response {
    match sandbox.faults().take() {
        Some(Fault::RateLimit { retry_after }) => return too_many(retry_after),
        Some(Fault::Unavailable) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                json!("temporarily unavailable"),
            )
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(sandbox.config.hang).await;
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                json!("timed out"),
            );
        }
        None => {}
    }
    if let Err(retry_after) = sandbox.rate_limit().take() {
        return too_many(retry_after);
    }
    let presented = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented != Some(sandbox.config.api_key.expose()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            json!("invalid or missing API key"),
        );
    }
    next.run(request).await
}

/// A request the API refuses before touching the state (a 422).
struct Invalid(String, String);

impl IntoResponse for Invalid {
    fn into_response(self) -> Response {
        validation(&self.0, &self.1)
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Invalid> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let msg = text.split(" at line ").next().unwrap_or("malformed JSON");
        Invalid("body".into(), msg.into())
    })
}

/// A POST answered before under the same `Idempotency-Key` answers the same.
fn replayed(sandbox: &Sandbox, route: &str, headers: &HeaderMap) -> Option<Response> {
    let key = headers.get("idempotency-key")?.to_str().ok()?;
    let (status, body) =
        sandbox.with_state(|state, _| state.idempotent.get(&format!("{route}:{key}")).cloned())?;
    let status = StatusCode::from_u16(status).ok()?;
    Some((status, axum::Json(body)).into_response())
}

fn answer_post(
    sandbox: &Sandbox,
    route: &str,
    headers: &HeaderMap,
    status: StatusCode,
    body: Value,
) -> Response {
    if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        let stored = (status.as_u16(), body.clone());
        sandbox.with_state(|state, _| state.idempotent.insert(format!("{route}:{key}"), stored));
    }
    (status, axum::Json(body)).into_response()
}

async fn create_checkout(State(sandbox): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request: CheckoutCreate = match parse(&body) {
        Ok(r) => r,
        Err(invalid) => return invalid.into_response(),
    };
    let public = sandbox.public_url().to_owned();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("checkouts:{k}"));
    // Looked up, created and remembered under one lock: requests racing
    // with one key make one checkout (and a replay answers its current
    // state, as a fresh GET would).
    let created = sandbox.with_state(|state, now| {
        let known = key
            .as_ref()
            .and_then(|k| state.idempotent.get(k))
            .and_then(|(_, body)| body["id"].as_str().map(str::to_owned));
        let (id, status) = match known {
            Some(id) => (id, StatusCode::OK),
            None => (state.create_checkout(request, now)?, StatusCode::CREATED),
        };
        let checkout = state
            .checkouts
            .get(&id)
            .ok_or(Refusal::NotFound("checkout"))?;
        let json = state.checkout_json(checkout, &public);
        if let Some(k) = key {
            state
                .idempotent
                .insert(k, (StatusCode::CREATED.as_u16(), json.clone()));
        }
        Ok::<_, Refusal>((status, json))
    });
    match created {
        Ok((status, json)) => (status, axum::Json(json)).into_response(),
        Err(refusal) => refused(refusal),
    }
}

async fn get_checkout(State(sandbox): Shared, Path(id): Path<String>) -> Response {
    let public = sandbox.public_url().to_owned();
    match sandbox.with_state(|state, _| {
        state
            .checkouts
            .get(&id)
            .map(|c| state.checkout_json(c, &public))
    }) {
        Some(json) => axum::Json(json).into_response(),
        None => refused(Refusal::NotFound("checkout")),
    }
}

async fn create_session(State(sandbox): Shared, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(replay) = replayed(&sandbox, "customer-sessions", &headers) {
        return replay;
    }
    let request: SessionCreate = match parse(&body) {
        Ok(r) => r,
        Err(invalid) => return invalid.into_response(),
    };
    let public = sandbox.public_url().to_owned();
    match sandbox.with_state(|state, now| state.create_session(request, now)) {
        Ok(session) => {
            let json = json!({
                "id": session.id,
                "token": session.token,
                "expires_at": super::model::rfc3339(session.expires_at),
                "customer_portal_url": super::portal::portal_url(&public, &session.token),
                "customer_id": session.customer_id,
                "return_url": session.return_url,
            });
            answer_post(
                &sandbox,
                "customer-sessions",
                &headers,
                StatusCode::CREATED,
                json,
            )
        }
        Err(refusal) => refused(refusal),
    }
}

/// `page` (1-based) and `limit` (1..=100) from the query, or a 422.
fn paging(params: &HashMap<String, String>) -> Result<(usize, usize), Invalid> {
    let read = |name: &str, default: usize, max: usize| match params.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Invalid(name.into(), format!("must be an integer from 1 to {max}"))),
    };
    Ok((read("page", 1, usize::MAX)?, read("limit", 10, 100)?))
}

fn page_of(items: Vec<Value>, page: usize, limit: usize) -> Value {
    let total = items.len();
    let max_page = total.div_ceil(limit).max(1);
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .collect();
    json!({"items": items, "pagination": {"total_count": total, "max_page": max_page}})
}

async fn list_subscriptions(State(sandbox): Shared, Query(params): Params) -> Response {
    let (page, limit) = match paging(&params) {
        Ok(p) => p,
        Err(invalid) => return invalid.into_response(),
    };
    let items = sandbox.with_state(|state, _| {
        let external = params.get("external_customer_id");
        let customer = params.get("customer_id");
        // By customer through the index (index.rs); unfiltered, all.
        let by_external = external.map(|e| state.customer_by_external(e).map(|c| c.id.clone()));
        let mut matching: Vec<_> = match (customer, by_external.as_ref().map(Option::as_ref)) {
            (_, Some(None)) => Vec::new(),
            (Some(c), Some(Some(e))) if c != e => Vec::new(),
            (Some(c), _) | (None, Some(Some(c))) => state.subscriptions_of(c.as_str()),
            (None, None) => state.subscriptions.values().collect(),
        };
        matching.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        matching
            .into_iter()
            .map(|s| state.subscription_json(s))
            .collect()
    });
    axum::Json(page_of(items, page, limit)).into_response()
}

async fn get_subscription(State(sandbox): Shared, Path(id): Path<String>) -> Response {
    match sandbox.with_state(|state, _| {
        state
            .subscriptions
            .get(&id)
            .map(|s| state.subscription_json(s))
    }) {
        Some(json) => axum::Json(json).into_response(),
        None => refused(Refusal::NotFound("subscription")),
    }
}

/// Exactly one of `{product_id[, proration_behavior]}`,
/// `{cancel_at_period_end}`, `{revoke: true}`.
async fn update_subscription(
    State(sandbox): Shared,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: serde_json::Map<String, Value> = match parse(&body) {
        Ok(b) => b,
        Err(invalid) => return invalid.into_response(),
    };
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    let outcome =
        match keys.as_slice() {
            ["product_id"]
            | ["product_id", "proration_behavior"]
            | ["proration_behavior", "product_id"] => {
                let invoice = match body.get("proration_behavior").map(|v| v.as_str()) {
                    None | Some(Some("prorate")) => false,
                    Some(Some("invoice")) => true,
                    _ => return validation("proration_behavior", "must be invoice or prorate"),
                };
                let Some(product) = body.get("product_id").and_then(Value::as_str) else {
                    return validation("product_id", "must be a string");
                };
                let product = product.to_owned();
                sandbox.transition(|state, now| {
                    let events = state.change_product(&id, &product, invoice, now)?;
                    Ok(((), events))
                })
            }
            ["cancel_at_period_end"] => {
                let Some(cancel) = body.get("cancel_at_period_end").and_then(Value::as_bool) else {
                    return validation("cancel_at_period_end", "must be a boolean");
                };
                sandbox.transition(|state, now| {
                    Ok(((), state.set_cancel_at_period_end(&id, cancel, now)?))
                })
            }
            ["revoke"] => {
                if body.get("revoke") != Some(&Value::Bool(true)) {
                    return validation("revoke", "must be true");
                }
                sandbox.transition(|state, now| Ok(((), state.revoke(&id, now)?)))
            }
            _ => return validation(
                "body",
                "exactly one of {product_id, proration_behavior}, {cancel_at_period_end}, {revoke}",
            ),
        };
    match outcome {
        Ok(()) => get_subscription(State(sandbox), Path(id)).await,
        Err(refusal) => refused(refusal),
    }
}

async fn create_customer(State(sandbox): Shared, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(replay) = replayed(&sandbox, "customers", &headers) {
        return replay;
    }
    let request: CustomerCreate = match parse(&body) {
        Ok(r) => r,
        Err(invalid) => return invalid.into_response(),
    };
    let created = sandbox.with_state(|state, now| {
        let id = state.create_customer(request, now)?;
        Ok::<_, Refusal>(state.customer_json(&id))
    });
    match created {
        Ok(json) => answer_post(&sandbox, "customers", &headers, StatusCode::CREATED, json),
        Err(refusal) => refused(refusal),
    }
}

async fn customer_external(State(sandbox): Shared, Path(external): Path<String>) -> Response {
    match sandbox.with_state(|state, _| state.customer_by_external(&external).map(customer_json)) {
        Some(json) => axum::Json(json).into_response(),
        None => refused(Refusal::NotFound("customer")),
    }
}

async fn get_customer(State(sandbox): Shared, Path(id): Path<String>) -> Response {
    match sandbox.with_state(|state, _| state.customers.get(&id).map(customer_json)) {
        Some(json) => axum::Json(json).into_response(),
        None => refused(Refusal::NotFound("customer")),
    }
}

async fn list_products(State(sandbox): Shared, Query(params): Params) -> Response {
    let (page, limit) = match paging(&params) {
        Ok(p) => p,
        Err(invalid) => return invalid.into_response(),
    };
    let flag = |name: &str| params.get(name).map(|v| v == "true");
    let (recurring, archived) = (flag("is_recurring"), flag("is_archived"));
    let items = sandbox.with_state(|state, _| {
        state
            .products
            .iter()
            .filter(|_| recurring != Some(false))
            .filter(|p| archived.is_none_or(|a| p.is_archived == a))
            .map(product_json)
            .collect()
    });
    axum::Json(page_of(items, page, limit)).into_response()
}
