//! The admin API (no key: the sandbox binds loopback only). The CLI
//! (`polo-sandbox <command>`) is a thin client of these routes.
//!
//! | route | does |
//! |---|---|
//! | `GET /admin/state` | customers, checkouts, subscriptions, orders, clock |
//! | `GET /admin/clock`, `POST /admin/clock/advance {"by": "31d"}` | read / move the clock (runs what fell due) |
//! | `GET /admin/events` | every event with its delivery attempts |
//! | `POST /admin/events/{id}/redeliver {"fresh_id", "twice"}` | send one past event again |
//! | `POST /admin/events/deliver {"ids", "fresh_id", "twice", "to"}` | send past events in exactly this order |
//! | `POST /admin/webhooks/hold`, `POST /admin/webhooks/release {"reverse", "twice", "concurrent"}` | hold new events back, then release them (in order, or all at once) |
//! | `POST /admin/webhooks/settle {"timeout_seconds"}` | wait until no delivery or retry is in flight |
//! | `POST /admin/endpoints/{slug}/enable` | re-enable an endpoint disabled after 10 failures |
//! | `GET/POST/DELETE /admin/faults {"kind": "429"/"503"/"hang", "count", "retry_after"}` | fault the next N API calls |
//! | `POST /admin/renewals/fail-next {"subscription_id"?, "count"?}` | the next renewal's charge fails |
//! | `POST /admin/subscriptions/{id}/recover` | a past-due subscription pays |

use super::clock::parse_duration;
use super::dispatcher::{known_slug, Plan};
use super::faults::Fault;
use super::lifecycle::Refusal;
use super::model::{customer_json, rfc3339};
use super::Sandbox;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::clock::Clock;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Shared = State<Arc<Sandbox>>;

pub fn routes(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/admin/state", get(state))
        .route("/admin/clock", get(clock))
        .route("/admin/clock/advance", post(advance))
        .route("/admin/events", get(events))
        .route("/admin/events/{id}/redeliver", post(redeliver))
        .route("/admin/events/deliver", post(deliver))
        .route("/admin/webhooks/hold", post(hold))
        .route("/admin/webhooks/release", post(release))
        .route("/admin/webhooks/settle", post(settle))
        .route("/admin/endpoints/{slug}/enable", post(enable))
        .route("/admin/faults", get(faults).post(arm).delete(clear))
        .route("/admin/renewals/fail-next", post(fail_next))
        .route("/admin/subscriptions/{id}/recover", post(recover))
        .with_state(sandbox)
}

fn bad(detail: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "BadRequest", "detail": detail.into()})),
    )
        .into_response()
}

/// An optional JSON body: empty means every field's default.
fn body<T: DeserializeOwned + Default>(raw: &[u8]) -> Result<T, String> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(raw).map_err(|e| e.to_string())
}

fn clock_json(sandbox: &Sandbox) -> Value {
    let clock = sandbox.clock();
    json!({
        "now": rfc3339(clock.now()),
        "offset_seconds": clock.offset().whole_seconds(),
    })
}

async fn state(State(sandbox): Shared) -> Json<Value> {
    let public = sandbox.public_url().to_owned();
    let mut value = sandbox.with_state(|state, _| {
        json!({
            "customers": state.customers.values().map(customer_json).collect::<Vec<_>>(),
            "checkouts": state.checkouts.values().map(|c| state.checkout_json(c, &public)).collect::<Vec<_>>(),
            "subscriptions": state.subscriptions.values().map(|s| state.subscription_json(s)).collect::<Vec<_>>(),
            "orders": state.orders.iter().map(|o| state.order_json(o)).collect::<Vec<_>>(),
            "fail_next_renewals": state.fail_next_renewals,
        })
    });
    value["clock"] = clock_json(&sandbox);
    value["disabled_endpoints"] = json!(sandbox.dispatcher().disabled_endpoints());
    Json(value)
}

async fn clock(State(sandbox): Shared) -> Json<Value> {
    Json(clock_json(&sandbox))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    /// `31d`, `12h`, `30m`, `90s`.
    by: Option<String>,
    seconds: Option<i64>,
}

async fn advance(State(sandbox): Shared, raw: Bytes) -> Response {
    let request: Advance = match body(&raw) {
        Ok(r) => r,
        Err(detail) => return bad(detail),
    };
    let by = match (request.by.as_deref().map(parse_duration), request.seconds) {
        (Some(Some(by)), None) => by,
        (None, Some(seconds)) if seconds >= 0 => time::Duration::seconds(seconds),
        _ => return bad("give one of by (31d, 12h, 30m, 90s) or seconds (>= 0)"),
    };
    let sent = sandbox.advance(by);
    let mut answer = clock_json(&sandbox);
    answer["events"] = json!(sent);
    Json(answer).into_response()
}

async fn events(State(sandbox): Shared) -> Json<Value> {
    Json(json!({"events": sandbox.dispatcher().events()}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deliver {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    fresh_id: bool,
    #[serde(default)]
    twice: bool,
    to: Option<String>,
}

fn send(
    sandbox: &Arc<Sandbox>,
    ids: &[String],
    request: &Deliver,
    trigger: &'static str,
) -> Response {
    let to = match request.to.as_deref().map(known_slug) {
        None => None,
        Some(Some(slug)) => Some(slug),
        Some(None) => return bad("to: not a webhook endpoint slug"),
    };
    let plan = Plan {
        trigger,
        twice: request.twice,
        to,
    };
    match sandbox.dispatcher().deliver(ids, request.fresh_id, plan) {
        Ok(sent) => Json(json!({"sent": sent})).into_response(),
        Err(detail) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "ResourceNotFound", "detail": detail})),
        )
            .into_response(),
    }
}

async fn redeliver(State(sandbox): Shared, Path(id): Path<String>, raw: Bytes) -> Response {
    match body::<Deliver>(&raw) {
        Ok(request) => send(&sandbox, &[id], &request, "redeliver"),
        Err(detail) => bad(detail),
    }
}

async fn deliver(State(sandbox): Shared, raw: Bytes) -> Response {
    match body::<Deliver>(&raw) {
        Ok(request) if !request.ids.is_empty() => {
            send(&sandbox, &request.ids, &request, "redeliver")
        }
        Ok(_) => bad("ids: at least one event id"),
        Err(detail) => bad(detail),
    }
}

async fn hold(State(sandbox): Shared) -> Json<Value> {
    sandbox.dispatcher().hold();
    Json(json!({"holding": true}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Release {
    #[serde(default)]
    reverse: bool,
    #[serde(default)]
    twice: bool,
    /// Every delivery at once, each on its own task (`reverse` then has no
    /// meaning).
    #[serde(default)]
    concurrent: bool,
}

async fn release(State(sandbox): Shared, raw: Bytes) -> Response {
    match body::<Release>(&raw) {
        Ok(r) if r.concurrent && r.reverse => {
            bad("reverse: has no meaning with concurrent (every delivery goes at once)")
        }
        Ok(r) if r.concurrent => {
            Json(json!({"sent": sandbox.dispatcher().release_concurrently(r.twice)}))
                .into_response()
        }
        Ok(r) => {
            Json(json!({"sent": sandbox.dispatcher().release(r.reverse, r.twice)})).into_response()
        }
        Err(detail) => bad(detail),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settle {
    timeout_seconds: Option<u64>,
}

async fn settle(State(sandbox): Shared, raw: Bytes) -> Response {
    let request: Settle = match body(&raw) {
        Ok(r) => r,
        Err(detail) => return bad(detail),
    };
    let timeout = std::time::Duration::from_secs(request.timeout_seconds.unwrap_or(30).min(600));
    let settled = sandbox.dispatcher().settle(timeout).await;
    let status = if settled {
        StatusCode::OK
    } else {
        StatusCode::GATEWAY_TIMEOUT
    };
    (status, Json(json!({"settled": settled}))).into_response()
}

async fn enable(State(sandbox): Shared, Path(slug): Path<String>) -> Response {
    match known_slug(&slug) {
        Some(slug) => {
            sandbox.dispatcher().enable(slug);
            Json(json!({"enabled": slug})).into_response()
        }
        None => bad("not a webhook endpoint slug"),
    }
}

async fn faults(State(sandbox): Shared) -> Json<Value> {
    Json(json!({"pending": sandbox.faults().pending()}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arm {
    kind: String,
    count: Option<usize>,
    retry_after: Option<u64>,
}

async fn arm(State(sandbox): Shared, raw: Bytes) -> Response {
    let request: Arm = match body(&raw) {
        Ok(r) => r,
        Err(detail) => return bad(detail),
    };
    let Some(fault) = Fault::parse(&request.kind, request.retry_after.unwrap_or(1)) else {
        return bad("kind: one of 429, 503, hang");
    };
    sandbox
        .faults()
        .arm(fault, request.count.unwrap_or(1).min(10_000));
    Json(json!({"pending": sandbox.faults().pending()})).into_response()
}

async fn clear(State(sandbox): Shared) -> Json<Value> {
    sandbox.faults().clear();
    Json(json!({"pending": []}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    subscription_id: Option<String>,
    count: Option<u32>,
}

async fn fail_next(State(sandbox): Shared, raw: Bytes) -> Response {
    let request: FailNext = match body(&raw) {
        Ok(r) => r,
        Err(detail) => return bad(detail),
    };
    let outcome = sandbox.with_state(|state, _| match &request.subscription_id {
        Some(id) => match state.subscriptions.get_mut(id) {
            Some(s) => {
                s.fail_next_renewal = true;
                Ok(json!({"subscription_id": id, "fail_next_renewal": true}))
            }
            None => Err(()),
        },
        None => {
            state.fail_next_renewals += request.count.unwrap_or(1);
            Ok(json!({"fail_next_renewals": state.fail_next_renewals}))
        }
    });
    match outcome {
        Ok(value) => Json(value).into_response(),
        Err(()) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "ResourceNotFound", "detail": "no such subscription"})),
        )
            .into_response(),
    }
}

async fn recover(State(sandbox): Shared, Path(id): Path<String>) -> Response {
    match sandbox.transition(|state, now| Ok(((), state.recover(&id, now)?))) {
        Ok(()) => Json(json!({"recovered": id})).into_response(),
        Err(Refusal::NotFound(_)) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "ResourceNotFound", "detail": "no such subscription"})),
        )
            .into_response(),
        Err(Refusal::NotPermitted(msg) | Refusal::Invalid(_, msg) | Refusal::Conflict(msg)) => (
            StatusCode::CONFLICT,
            Json(json!({"error": "NotPermitted", "detail": msg})),
        )
            .into_response(),
    }
}
