//! A minimal stand-in for Polo's `GET /v1/subscriptions/{id}`, serving the
//! subscriptions an in-memory Polo knows, behind a bearer-token check. The
//! smoke tests use it until the Polo sandbox exists.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use billing::domain::SubscriptionId;
use billing::polo::api::SubscriptionLookup;
use billing::polo::memory::InMemoryPolo;
use std::sync::Arc;

pub struct PoloStub {
    pub polo: Arc<InMemoryPolo>,
    api_key: String,
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
            .route("/v1/subscriptions/{id}", get(subscription))
            .with_state(self)
    }
}

async fn subscription(
    State(stub): State<Arc<PoloStub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let json = [("x-request-id", "req_polo_stub")];
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.strip_prefix("Bearer ") == Some(stub.api_key.as_str()));
    if !authorised {
        return (
            StatusCode::UNAUTHORIZED,
            json,
            r#"{"error":"Unauthorized","detail":"invalid token"}"#.into(),
        );
    }
    let Ok(id) = SubscriptionId::parse(&id) else {
        return (
            StatusCode::NOT_FOUND,
            json,
            r#"{"error":"ResourceNotFound","detail":"Not found"}"#.into(),
        );
    };
    let deadline = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    match stub.polo.get_subscription(&id, deadline).await {
        Ok(s) => (
            StatusCode::OK,
            json,
            serde_json::to_string(&s).unwrap_or_default(),
        ),
        Err(_) => (
            StatusCode::NOT_FOUND,
            json,
            r#"{"error":"ResourceNotFound","detail":"Not found"}"#.into(),
        ),
    }
}
