//! A stand-in for the Convex deployment's billing HTTP actions: the same
//! contract (tests/contract/convex), signature checked, backed by the
//! in-memory account store. The smoke tests and the cold-start harness run
//! the real binaries against it; it is not the Convex code (that is convex/).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use billing::accounts::{
    AccountPage, AccountStore, AccountStoreError, AuditCause, InMemoryAccountStore,
};
use billing::domain::{AccountBilling, AccountId, ProvisionedEntitlement};
use serde_json::{json, Value};
use std::sync::Arc;
use time::OffsetDateTime;

pub struct ConvexStub {
    pub accounts: Arc<InMemoryAccountStore>,
    secrets: crate::AcceptedSecrets,
}

impl ConvexStub {
    pub fn new(accounts: Arc<InMemoryAccountStore>, signing_secret: &str) -> Result<Self, String> {
        Ok(Self {
            accounts,
            secrets: crate::AcceptedSecrets::new(&[signing_secret])?,
        })
    }

    /// The secrets accepted from now on: several while one is rotated (the
    /// verifying side's half of RUNBOOK §4).
    pub fn accept(&self, signing_secrets: &[&str]) -> Result<(), String> {
        self.secrets.accept(signing_secrets)
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/billing/v1/accounts/{call}", post(call))
            .with_state(self)
    }
}

fn reply(status: StatusCode, body: Value) -> (StatusCode, String) {
    (status, body.to_string())
}

fn store_error(err: AccountStoreError) -> (StatusCode, String) {
    match err {
        AccountStoreError::NotFound => {
            reply(StatusCode::NOT_FOUND, json!({"error": "account_not_found"}))
        }
        AccountStoreError::Conflict { current, .. } => reply(
            StatusCode::CONFLICT,
            json!({"error": "version_conflict", "currentVersion": current}),
        ),
        AccountStoreError::Rejected(detail) => reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "detail": detail}),
        ),
        AccountStoreError::Unavailable(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "internal"}),
        ),
    }
}

fn invalid(detail: &str) -> (StatusCode, String) {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_request", "detail": detail}),
    )
}

async fn call(
    State(stub): State<Arc<ConvexStub>>,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let path = format!("/billing/v1/accounts/{call}");
    if !crate::signed_for_route(&headers, "POST", &path, &body, &stub.secrets.current()) {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_signature"}),
        );
    }
    let Ok(args) = serde_json::from_slice::<Value>(&body) else {
        return invalid("body: not JSON");
    };
    let limit = args["limit"].as_u64().unwrap_or(100) as usize;
    let cursor = args["cursor"].as_str();
    let accounts = |page: AccountPage| {
        reply(
            StatusCode::OK,
            json!({"accounts": page.accounts, "cursor": page.cursor}),
        )
    };
    match call.as_str() {
        "get" => {
            let Some(id) = args["accountId"]
                .as_str()
                .and_then(|s| AccountId::parse(s).ok())
            else {
                return invalid("accountId: missing or invalid");
            };
            match stub.accounts.get(&id).await {
                Ok(Some(account)) => reply(StatusCode::OK, json!({ "account": account })),
                Ok(None) => store_error(AccountStoreError::NotFound),
                Err(err) => store_error(err),
            }
        }
        "compare-and-set" => {
            // As in Convex: the audit is the cause only; the row's before
            // and after are the store's own.
            let (Some(expected), Ok(account), Ok(cause)) = (
                args["expectedVersion"].as_u64(),
                serde_json::from_value::<AccountBilling>(args["account"].clone()),
                serde_json::from_value::<AuditCause>(args["audit"].clone()),
            ) else {
                return invalid("expectedVersion, account or audit: missing or invalid");
            };
            match stub
                .accounts
                .compare_and_set_caused(expected, &account, cause)
            {
                Ok(()) => reply(StatusCode::OK, json!({"version": account.version})),
                Err(err) => store_error(err),
            }
        }
        "acknowledge-provisioning" => {
            let (Some(id), Ok(acknowledged)) = (
                args["accountId"]
                    .as_str()
                    .and_then(|s| AccountId::parse(s).ok()),
                serde_json::from_value::<ProvisionedEntitlement>(args["acknowledged"].clone()),
            ) else {
                return invalid("accountId or acknowledged: missing or invalid");
            };
            match stub
                .accounts
                .acknowledge_provisioning(&id, &acknowledged)
                .await
            {
                Ok(recorded) => reply(StatusCode::OK, json!({ "recorded": recorded })),
                Err(err) => store_error(err),
            }
        }
        "provisioning-mismatches" => {
            match stub
                .accounts
                .list_provisioning_mismatches(cursor, limit)
                .await
            {
                Ok(page) => accounts(page),
                Err(err) => store_error(err),
            }
        }
        "expired" => {
            let Some(now) = args["now"].as_str().and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            }) else {
                return invalid("now: missing or not RFC 3339");
            };
            match stub.accounts.list_expired(now, cursor, limit).await {
                Ok(page) => accounts(page),
                Err(err) => store_error(err),
            }
        }
        "polo-subscribers" => match stub.accounts.list_polo_subscribers(cursor, limit).await {
            Ok(page) => reply(
                StatusCode::OK,
                json!({"accountIds": page.account_ids, "cursor": page.cursor}),
            ),
            Err(err) => store_error(err),
        },
        "pending-paypal-cancellations" => {
            match stub
                .accounts
                .list_pending_paypal_cancellations(cursor, limit)
                .await
            {
                Ok(page) => accounts(page),
                Err(err) => store_error(err),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
    }
}
