//! What the local server shows besides the functions and the billing
//! panel ([`super::panel`]): `/dev/credentials` (what the embedded
//! orchestrator issued and revoked), `/dev/state` (JSON), `/dev/token` (dev
//! JWTs), `/dev/walkthrough`, and `/dev/reconcile`, `/dev/sync`,
//! `/dev/retry` (the scheduled functions, now).

use super::LocalStack;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use billing::domain::AccountId;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

type Shared = State<Arc<LocalStack>>;

/// How long a dev token lives (real time).
pub const TOKEN_LIFETIME: time::Duration = time::Duration::hours(12);

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    sub: Option<String>,
    /// `raw`: the bare token as text, for `export TOKEN=$(curl ...)`.
    #[serde(default)]
    format: Option<String>,
}

/// A dev token for `account`; with the in-memory account store, an account
/// it does not know yet is created first (a new sign-up).
pub(super) fn sign_in(stack: &LocalStack, account: &AccountId) -> String {
    super::panel::sign_up(stack, account, None);
    stack.jwt.issue(account.as_str(), TOKEN_LIFETIME)
}

/// `GET /dev/token?sub=acct_...`: a dev JWT (signing the account up), as
/// JSON, or as the bare token with `&format=raw`.
pub async fn token(State(stack): Shared, Query(q): Query<TokenQuery>) -> Response {
    let raw = match q.format.as_deref() {
        None | Some("json") => false,
        Some("raw") => true,
        Some(_) => {
            return (
                http::StatusCode::BAD_REQUEST,
                Json(json!({"error": "format: raw or json"})),
            )
                .into_response()
        }
    };
    let sub = q.sub.unwrap_or_else(|| super::LOCAL_ACCOUNTS[0].to_owned());
    let Ok(account) = AccountId::parse(&sub) else {
        return (
            http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "sub: not an account id"})),
        )
            .into_response();
    };
    let token = sign_in(&stack, &account);
    if raw {
        return (
            [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token,
        )
            .into_response();
    }
    Json(json!({"sub": account.as_str(), "token": token, "expiresInSeconds": TOKEN_LIFETIME.whole_seconds()}))
        .into_response()
}

/// `GET /dev/walkthrough`: the walkthrough the server printed at start,
/// again, with a fresh token (plain text).
pub async fn walkthrough(State(stack): Shared) -> Response {
    let Some((app, adapters)) = stack.walkthrough.get() else {
        return (http::StatusCode::SERVICE_UNAVAILABLE, "starting").into_response();
    };
    let text = super::walkthrough::render(app, adapters, stack.sandbox_url.as_deref(), &stack.jwt);
    (
        [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// `GET /dev/state`: accounts, what the orchestrator holds, and the
/// idempotency records (in-memory adapters only).
pub async fn state(State(stack): Shared) -> Json<serde_json::Value> {
    let records: Vec<_> = stack
        .memory
        .store
        .iter()
        .flat_map(|s| s.snapshot())
        .map(|r| {
            json!({
                "key": r.delivery.key.as_str(),
                "status": r.status.as_str(),
                "endpoint": r.delivery.endpoint,
                "eventType": r.delivery.event_type,
                "accountId": r.delivery.account_id,
                "parkReason": r.park_reason.map(|p| String::from(p.code)),
                "attempts": r.attempts,
                "lastFault": r.last_fault,
                "nextAttemptAt": r.next_attempt_at.and_then(|t| t.format(&Rfc3339).ok()),
            })
        })
        .collect();
    let accounts = stack
        .memory
        .accounts
        .as_ref()
        .map(|a| a.all())
        .unwrap_or_default();
    let credentials: Vec<_> = match &stack.memory.orchestrator {
        Some(o) => accounts
            .iter()
            .filter_map(|a| o.decision(&a.account_id))
            .collect(),
        None => Vec::new(),
    };
    let audit: Vec<_> = match &stack.memory.accounts {
        Some(store) => accounts
            .iter()
            .flat_map(|a| store.audit_rows(&a.account_id))
            .collect(),
        None => Vec::new(),
    };
    Json(json!({
        "accounts": accounts,
        "audit": audit,
        "credentials": credentials,
        "provisioningPushes": stack.memory.orchestrator.as_ref().map_or(0, |o| o.pushes().len()),
        "idempotency": records,
        "sandbox": stack.sandbox_url,
    }))
}

pub(super) fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /dev/credentials`: the embedded orchestrator's view.
pub async fn credentials(State(stack): Shared) -> Html<String> {
    let Some(orchestrator) = &stack.memory.orchestrator else {
        return Html(
            "<p>Provisioning pushes go to a real orchestrator (--provisioning-url).</p>".into(),
        );
    };
    let pushes = orchestrator.pushes();
    let mut accounts: Vec<_> = pushes.iter().map(|p| p.account_id.clone()).collect();
    accounts.sort();
    accounts.dedup();
    let mut current = String::new();
    for account in &accounts {
        let Some(d) = orchestrator.decision(account) else {
            continue;
        };
        let verdict = if d.entitled { "issued" } else { "revoked" };
        current.push_str(&format!(
            "<tr data-account=\"{a}\"><td>{a}</td><td class=\"{verdict}\">{verdict}</td><td>{tier}</td><td>{status}</td><td>{expires}</td><td>{version}</td></tr>",
            a = escape(account.as_str()),
            tier = d.tier,
            status = d.status.as_str(),
            expires = d
                .expires_at
                .and_then(|t| t.format(&Rfc3339).ok())
                .unwrap_or_else(|| "—".into()),
            version = d.version,
        ));
    }
    let history: String = pushes
        .iter()
        .rev()
        .map(|p| {
            format!(
                "<tr><td>{}</td><td>v{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                escape(p.account_id.as_str()),
                p.version,
                if p.entitled { "issue" } else { "revoke" },
                p.tier,
                p.status.as_str(),
                escape(&p.reason),
                escape(&p.source_event_id),
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Credentials · local orchestrator</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}} td,th{{padding:.2rem .6rem;text-align:left}} .issued{{color:#0a7a2f;font-weight:600}} .revoked{{color:#b3261e;font-weight:600}}</style></head>
<body><h1>Managed credentials (embedded orchestrator)</h1>
<p>Every signed push the functions sent; an older version than the last applied is ignored, as the real orchestrator does.</p>
<h2>Now</h2><table id="current"><tr><th>account</th><th>credentials</th><th>tier</th><th>status</th><th>access until</th><th>version</th></tr>{current}</table>
<h2>Pushes, newest first</h2><table id="history"><tr><th>account</th><th>version</th><th>action</th><th>state</th><th>reason</th><th>source</th></tr>{history}</table>
<p><a href="/billing">billing page</a> · <a href="/dev/state">/dev/state</a></p></body></html>"#
    ))
}

#[derive(Debug, Deserialize)]
pub struct ReconcileQuery {
    #[serde(default)]
    account: Option<String>,
}

/// `POST /dev/reconcile`: the hourly `reconcile` function's run, now (the
/// accounts past expiry + grace or `past_due`, at the sandbox's time);
/// `?account=acct_...`: that one account, as `admin reconcile --account`.
pub async fn reconcile(State(stack): Shared, Query(q): Query<ReconcileQuery>) -> Response {
    let Some(reconciler) = &stack.reconciler else {
        return (
            http::StatusCode::NOT_FOUND,
            Json(json!({"error": "this preset runs no reconcile"})),
        )
            .into_response();
    };
    let run = format!("local-{}", uuid::Uuid::new_v4().simple());
    let deadline = reconciler.clock.now() + time::Duration::seconds(240);
    let report = match q.account.as_deref() {
        None => reconciler.scheduled(&run, deadline).await,
        Some(raw) => match AccountId::parse(raw) {
            Ok(id) => Ok(reconciler.accounts(&[id], &run, deadline).await),
            Err(_) => {
                return (
                    http::StatusCode::BAD_REQUEST,
                    Json(json!({"error": "account: not an account id"})),
                )
                    .into_response()
            }
        },
    };
    match report {
        Ok(report) => Json(json!({
            "accounts": report.accounts,
            "changed": report.changed,
            "failed": report.failed.iter().map(|(id, why)| json!({"account": id.as_str(), "error": why})).collect::<Vec<_>>(),
            "backlog": report.backlog,
        }))
        .into_response(),
        Err(err) => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": billing::telemetry::error_chain(&err)})),
        )
            .into_response(),
    }
}

/// `POST /dev/sync`: one `provisioning-sync` run, now (it also runs every
/// minute): every account that needs a push is pushed at its current
/// version.
pub async fn sync(State(stack): Shared) -> Response {
    let Some(reconciler) = &stack.reconciler else {
        return (
            http::StatusCode::NOT_FOUND,
            Json(json!({"error": "this preset runs no provisioning-sync"})),
        )
            .into_response();
    };
    let run = format!("local-{}", uuid::Uuid::new_v4().simple());
    // The run's deadline is on the clock it runs on, the domain's (a
    // deadline on real time is a month behind a sandbox clock moved a
    // month ahead: the run stopped before its first page). Real time bounds
    // the whole run instead.
    let deadline = reconciler.clock.now() + time::Duration::seconds(50);
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(55),
        billing::handlers::provisioning_sync::run(
            &reconciler.updater,
            reconciler.accounts.as_ref(),
            reconciler.clock.as_ref(),
            reconciler.metrics.as_ref(),
            &run,
            deadline,
        ),
    )
    .await;
    let Ok(report) = report else {
        return (
            http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "provisioning-sync ran out of time"})),
        )
            .into_response();
    };
    match report {
        Ok(report) => Json(json!({
            "mismatched": report.mismatched,
            "acknowledged": report.acknowledged,
            "notPushed": report.not_pushed,
            "outOfTime": report.out_of_time,
            "oldestUnacknowledgedSeconds": report.oldest_unacknowledged_seconds,
            "oldestUnacknowledgedIntentSeconds": report.oldest_unacknowledged_intent_seconds,
        }))
        .into_response(),
        Err(err) => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": billing::telemetry::error_chain(&err)})),
        )
            .into_response(),
    }
}

/// `POST /dev/retry`: what `admin inbox retry` does — every `PENDING`
/// delivery is made due and `webhook-retry` runs now (it also runs every
/// minute on its own, honouring the backoff): each is processed from its
/// stored payload, and so is every crashed one past its lease.
pub async fn retry(State(stack): Shared) -> Response {
    let Some(sweeper) = stack.sweeper() else {
        return (
            http::StatusCode::NOT_FOUND,
            Json(json!({"error": "this preset has no webhook intake"})),
        )
            .into_response();
    };
    let deadline = sweeper.clock.now() + time::Duration::seconds(50);
    match sweeper.retry_now(None, deadline).await {
        Ok(Some(report)) => Json(report.summary()).into_response(),
        // Without a key every pending record qualifies: never `None`.
        Ok(None) => Json(json!({"applied": 0})).into_response(),
        Err(err) => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": billing::telemetry::error_chain(&err)})),
        )
            .into_response(),
    }
}
