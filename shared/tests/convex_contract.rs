//! The Convex adapter against the shared contract fixtures
//! (tests/contract/convex): a local server replays each fixture's response
//! after checking that the request is signed, and is exactly the fixture's
//! method, path and body. The Convex suite answers the same files.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;
use billing::accounts::{
    AccountPage, AccountStore, AccountStoreError, AuditCause, AuditEntry, ConvexAccountStore,
};
use billing::domain::{AccountBilling, AccountId, ProvisionedEntitlement};
use billing::http::{RetryPolicy, SecureHttp};
use billing::polo::verifier::{verify, SignatureHeaders, WebhookSecret};
use billing::secrets::SecretString;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

const SIGNING_SECRET: &str = "whsec_Y29udmV4LWNvbnRyYWN0LXRlc3Qtc2lnbmluZy1zZWNyZXQ=";

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/contract/convex")
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[derive(Default)]
struct Seen {
    requests: usize,
    problems: Vec<String>,
}

struct Replay {
    fixture: Value,
    seen: Mutex<Seen>,
}

async fn answer(
    State(replay): State<Arc<Replay>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let expected = &replay.fixture["request"];
    let mut seen = replay.seen.lock().unwrap();
    seen.requests += 1;
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let secret = WebhookSecret::new(&SecretString::new(SIGNING_SECRET)).unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let signed = SignatureHeaders {
        id: get("webhook-id"),
        timestamp: get("webhook-timestamp"),
        signature: get("webhook-signature"),
    };
    // The route is signed too: `{METHOD} {path}.` before the body.
    let content = [
        billing::signing::route_prefix(method.as_str(), uri.path()).as_slice(),
        &body,
    ]
    .concat();
    if let Err(err) = verify(&content, signed, &[secret], now) {
        seen.problems.push(format!("signature: {err}"));
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_signature"}"#.to_owned(),
        );
    }
    if method.as_str() != expected["method"] || uri.path() != expected["path"] {
        seen.problems.push(format!(
            "sent {method} {}, fixture says {} {}",
            uri.path(),
            expected["method"],
            expected["path"]
        ));
    }
    let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if sent != expected["body"] {
        seen.problems.push(format!(
            "body differs:\n sent     {sent}\n expected {}",
            expected["body"]
        ));
    }
    let response = &replay.fixture["response"];
    (
        StatusCode::from_u16(response["status"].as_u64().unwrap() as u16).unwrap(),
        response["body"].to_string(),
    )
}

/// Serves one fixture; returns the adapter pointed at it and the replay log.
async fn serve(name: &str, secret: &str) -> (ConvexAccountStore, Arc<Replay>) {
    let replay = Arc::new(Replay {
        fixture: fixture(name),
        seen: Mutex::default(),
    });
    let router = Router::new().fallback(answer).with_state(replay.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = SecureHttp::new(true, RetryPolicy::NONE).unwrap();
    (
        ConvexAccountStore::new(http, url.parse().unwrap(), SecretString::new(secret)),
        replay,
    )
}

fn assert_exact(replay: &Replay) {
    let seen = replay.seen.lock().unwrap();
    assert_eq!(seen.requests, 1, "one request per call");
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
}

fn account(v: &Value) -> AccountBilling {
    serde_json::from_value(v.clone()).unwrap()
}

fn accounts(v: &Value) -> Vec<AccountBilling> {
    v.as_array().unwrap().iter().map(account).collect()
}

fn body(name: &str) -> Value {
    fixture(name)["request"]["body"].clone()
}

#[test]
fn every_fixture_account_is_exactly_the_rust_shape() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let f: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut found = f["seed"]["accounts"].as_array().unwrap().clone();
        found.extend(
            f["response"]["body"]["accounts"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        found.extend(f["response"]["body"].get("account").cloned());
        found.extend(f["request"]["body"].get("account").cloned());
        for raw in found {
            let parsed: AccountBilling = serde_json::from_value(raw.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                serde_json::to_value(&parsed).unwrap(),
                raw,
                "{}",
                path.display()
            );
            checked += 1;
        }
        if let Some(audit) = f["request"]["body"].get("audit") {
            // The cause only: the store builds before and after itself.
            let parsed: AuditCause = serde_json::from_value(audit.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&serde_json::to_value(&parsed).unwrap(), audit);
        }
    }
    assert!(checked > 20, "fixtures were read ({checked} accounts)");
}

#[tokio::test]
async fn get_returns_the_found_account() {
    let (store, replay) = serve("get-found", SIGNING_SECRET).await;
    let found = store
        .get(&AccountId::parse("acct_active").unwrap())
        .await
        .unwrap();
    assert_exact(&replay);
    assert_eq!(
        found,
        Some(account(
            &fixture("get-found")["response"]["body"]["account"]
        ))
    );
}

#[tokio::test]
async fn get_of_an_unknown_account_is_none() {
    let (store, replay) = serve("get-not-found", SIGNING_SECRET).await;
    assert_eq!(
        store
            .get(&AccountId::parse("acct_nobody").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_exact(&replay);
}

#[tokio::test]
async fn a_failing_store_is_unavailable() {
    for (name, call) in [
        ("get-error", 0),
        ("cas-error", 1),
        ("mismatches-error", 2),
        ("expired-error", 3),
        ("subscribers-error", 4),
        ("paypal-pending-error", 5),
        ("ack-error", 6),
    ] {
        let (store, replay) = serve(name, SIGNING_SECRET).await;
        let err = call_by_index(&store, name, call).await;
        assert_exact(&replay);
        assert!(
            matches!(err, AccountStoreError::Unavailable(_)),
            "{name}: {err:?}"
        );
    }
}

async fn call_by_index(store: &ConvexAccountStore, name: &str, call: usize) -> AccountStoreError {
    let b = body(name);
    match call {
        0 => store
            .get(&AccountId::parse(b["accountId"].as_str().unwrap()).unwrap())
            .await
            .map(|_| ()),
        1 => {
            let audit = audit_of(&b);
            store
                .compare_and_set(
                    b["expectedVersion"].as_u64().unwrap(),
                    &account(&b["account"]),
                    &audit,
                )
                .await
        }
        2 => store
            .list_provisioning_mismatches(None, 100)
            .await
            .map(|_| ()),
        3 => store
            .list_expired(time::macros::datetime!(2026-11-15 12:00 UTC), None, 100)
            .await
            .map(|_| ()),
        4 => store.list_polo_subscribers(None, 2).await.map(|_| ()),
        6 => acknowledge(store, name).await.map(|_| ()),
        _ => store
            .list_pending_paypal_cancellations(None, 100)
            .await
            .map(|_| ()),
    }
    .unwrap_err()
}

/// The writer's audit entry for a fixture's request: its cause, with a
/// before and after the adapter must not send (the replay checks the body).
fn audit_of(b: &Value) -> AuditEntry {
    let cause: AuditCause = serde_json::from_value(b["audit"].clone()).unwrap();
    let next = account(&b["account"]);
    AuditEntry::recorded(cause, &AccountBilling::new(next.account_id.clone()), &next)
}

async fn cas(name: &str) -> (Result<(), AccountStoreError>, Arc<Replay>) {
    let (store, replay) = serve(name, SIGNING_SECRET).await;
    let b = body(name);
    let audit = audit_of(&b);
    let result = store
        .compare_and_set(
            b["expectedVersion"].as_u64().unwrap(),
            &account(&b["account"]),
            &audit,
        )
        .await;
    (result, replay)
}

async fn acknowledge(store: &ConvexAccountStore, name: &str) -> Result<bool, AccountStoreError> {
    let b = body(name);
    let acknowledged: ProvisionedEntitlement =
        serde_json::from_value(b["acknowledged"].clone()).unwrap();
    store
        .acknowledge_provisioning(
            &AccountId::parse(b["accountId"].as_str().unwrap()).unwrap(),
            &acknowledged,
        )
        .await
}

#[tokio::test]
async fn an_acknowledgement_is_recorded_when_it_is_the_newest() {
    let (store, replay) = serve("ack-recorded", SIGNING_SECRET).await;
    let recorded = acknowledge(&store, "ack-recorded").await.unwrap();
    assert_exact(&replay);
    assert!(recorded);
}

#[tokio::test]
async fn an_acknowledgement_older_than_the_recorded_one_is_not_recorded() {
    let (store, replay) = serve("ack-older-kept", SIGNING_SECRET).await;
    let recorded = acknowledge(&store, "ack-older-kept").await.unwrap();
    assert_exact(&replay);
    assert!(!recorded);
}

#[tokio::test]
async fn an_acknowledgement_for_an_unknown_account_is_not_found() {
    let (store, replay) = serve("ack-not-found", SIGNING_SECRET).await;
    let result = acknowledge(&store, "ack-not-found").await;
    assert_exact(&replay);
    assert!(
        matches!(result, Err(AccountStoreError::NotFound)),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_acknowledgement_beyond_the_account_version_is_rejected_naming_the_field() {
    let (store, replay) = serve("ack-invalid", SIGNING_SECRET).await;
    let result = acknowledge(&store, "ack-invalid").await;
    assert_exact(&replay);
    match result {
        Err(AccountStoreError::Rejected(detail)) => {
            assert!(detail.contains("acknowledged.version: beyond the account's version"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn compare_and_set_sends_a_stale_acknowledgement_as_read() {
    // The store keeps the newer one (the Convex suite checks that side).
    let (result, replay) = cas("cas-keeps-newer-ack").await;
    assert_exact(&replay);
    assert!(result.is_ok());
}

#[tokio::test]
async fn compare_and_set_writes_when_the_version_matches() {
    let (result, replay) = cas("cas-ok").await;
    assert_exact(&replay);
    assert!(result.is_ok());
}

#[tokio::test]
async fn compare_and_set_reports_a_typed_conflict_with_the_current_version() {
    let (result, replay) = cas("cas-conflict").await;
    assert_exact(&replay);
    assert!(
        matches!(
            result,
            Err(AccountStoreError::Conflict {
                expected: 0,
                current: Some(2)
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn compare_and_set_on_an_unknown_account_is_not_found() {
    let (result, replay) = cas("cas-not-found").await;
    assert_exact(&replay);
    assert!(matches!(result, Err(AccountStoreError::NotFound)));
}

#[tokio::test]
async fn compare_and_set_with_a_bad_version_is_rejected_naming_the_field() {
    let (result, replay) = cas("cas-invalid").await;
    assert_exact(&replay);
    match result {
        Err(AccountStoreError::Rejected(detail)) => {
            assert!(detail.contains("account.version: must be expectedVersion + 1"))
        }
        other => panic!("{other:?}"),
    }
}

/// The page a fixture answers: its accounts and cursor.
fn fixture_page(name: &str) -> AccountPage {
    let body = &fixture(name)["response"]["body"];
    AccountPage {
        accounts: accounts(&body["accounts"]),
        cursor: body["cursor"].as_str().map(str::to_owned),
    }
}

#[tokio::test]
async fn lists_return_the_fixture_accounts() {
    let (store, replay) = serve("mismatches-found", SIGNING_SECRET).await;
    let found = store.list_provisioning_mismatches(None, 100).await.unwrap();
    assert_exact(&replay);
    assert_eq!(found, fixture_page("mismatches-found"));
    assert_eq!(found.cursor, None);

    let (store, replay) = serve("mismatches-empty", SIGNING_SECRET).await;
    let empty = store.list_provisioning_mismatches(None, 100).await.unwrap();
    assert_exact(&replay);
    assert!(empty.accounts.is_empty());

    let (store, replay) = serve("expired-found", SIGNING_SECRET).await;
    let expired = store
        .list_expired(time::macros::datetime!(2026-11-15 12:00 UTC), None, 100)
        .await
        .unwrap();
    assert_exact(&replay);
    assert_eq!(expired, fixture_page("expired-found"));

    let (store, replay) = serve("expired-empty", SIGNING_SECRET).await;
    let none = store
        .list_expired(time::macros::datetime!(2026-11-05 00:00 UTC), None, 100)
        .await
        .unwrap();
    assert_exact(&replay);
    assert!(none.accounts.is_empty());

    let (store, replay) = serve("paypal-pending-found", SIGNING_SECRET).await;
    let pending = store
        .list_pending_paypal_cancellations(None, 100)
        .await
        .unwrap();
    assert_exact(&replay);
    assert_eq!(pending, fixture_page("paypal-pending-found"));
}

#[tokio::test]
async fn provisioning_mismatches_page_by_cursor() {
    let (store, replay) = serve("mismatches-first-page", SIGNING_SECRET).await;
    let first = store.list_provisioning_mismatches(None, 1).await.unwrap();
    assert_exact(&replay);
    assert_eq!(first, fixture_page("mismatches-first-page"));
    assert_eq!(first.cursor.as_deref(), Some("acct_pushing"));

    let (store, replay) = serve("mismatches-last-page", SIGNING_SECRET).await;
    let last = store
        .list_provisioning_mismatches(first.cursor.as_deref(), 1)
        .await
        .unwrap();
    assert_exact(&replay);
    assert_eq!(last, fixture_page("mismatches-last-page"));
    assert_eq!(last.cursor, None);
}

#[tokio::test]
async fn expired_pages_send_back_the_opaque_cursor() {
    let now = time::macros::datetime!(2026-11-15 12:00 UTC);
    let (store, replay) = serve("expired-first-page", SIGNING_SECRET).await;
    let first = store.list_expired(now, None, 1).await.unwrap();
    assert_exact(&replay);
    assert_eq!(first, fixture_page("expired-first-page"));
    assert!(first.cursor.is_some());

    let (store, replay) = serve("expired-last-page", SIGNING_SECRET).await;
    let last = store
        .list_expired(now, first.cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_exact(&replay);
    assert_eq!(last, fixture_page("expired-last-page"));
    assert_eq!(last.cursor, None);
}

#[tokio::test]
async fn polo_subscribers_page_by_cursor() {
    let (store, replay) = serve("subscribers-first-page", SIGNING_SECRET).await;
    let first = store.list_polo_subscribers(None, 2).await.unwrap();
    assert_exact(&replay);
    assert_eq!(first.cursor.as_deref(), Some("acct_expired"));
    assert_eq!(first.account_ids.len(), 2);

    let (store, replay) = serve("subscribers-last-page", SIGNING_SECRET).await;
    let last = store
        .list_polo_subscribers(first.cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_exact(&replay);
    assert_eq!(last.cursor, None);
    assert_eq!(
        last.account_ids,
        vec![AccountId::parse("acct_past_due").unwrap()]
    );
}

#[tokio::test]
async fn a_wrong_signing_secret_is_refused_and_reported_without_the_secret() {
    let wrong = "whsec_d3Jvbmctc2lnbmluZy1zZWNyZXQtZm9yLWNvbnZleA==";
    let (store, replay) = serve("get-found", wrong).await;
    let err = store
        .get(&AccountId::parse("acct_active").unwrap())
        .await
        .unwrap_err();
    // A refused signature is the operator's to fix, not the request's:
    // transient, like an outage (the webhook keeps the event to retry).
    assert!(matches!(err, AccountStoreError::Unavailable(_)), "{err:?}");
    assert!(!format!("{err:?} {err}").contains("d3Jvbmct"));
    assert_eq!(
        replay.seen.lock().unwrap().problems,
        vec!["signature: webhook-signature: no signature matches"]
    );
}
