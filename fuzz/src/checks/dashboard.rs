//! The dashboard's four routes given arbitrary requests, as API Gateway
//! hands them over (any claims, query string, body, base64 flag), over
//! healthy in-memory ports. Every answer is JSON with a documented code;
//! the only 5xx is `internal` for a claim naming an account the store does
//! not hold (nothing downstream fails here); a refusal changes nothing; no
//! answer quotes the request.

use super::{assert_not_quoted, NOW};
use base64::Engine;
use billing::accounts::InMemoryAccountStore;
use billing::clock::ManualClock;
use billing::config::BillingProvider;
use billing::dashboard::{Code, Route, Settings, UrlPolicy, POLO_BUDGET};
use billing::domain::{AccountBilling, AccountId};
use billing::polo::catalogue::Catalogue;
use billing::polo::memory::InMemoryPolo;
use billing::ports::Ports;
use billing::provisioning::InMemoryProvisioner;
use billing::telemetry::InMemoryMetrics;
use std::sync::Arc;
use time::OffsetDateTime;
use url::Url;

/// The account the fuzzer's claims name when byte 0 asks for a known one.
const KNOWN: &str = "acct_fuzz";

/// Byte 0: the route (bits 0–1), claims absent / a known account / the
/// bytes' own `sub` (bits 2–3), base64 (bit 4). The rest is
/// `query \n body` (`sub \n query \n body` with the bytes' own claim).
/// Returns the answer's status and code.
pub fn dashboard(data: &[u8]) -> Option<(u16, Option<String>)> {
    let (&flags, rest) = data.split_first()?;
    let route = Route::ALL[usize::from(flags & 0x03)];
    let base64 = flags & 0x10 != 0;
    let (sub, rest) = match (flags >> 2) & 0x03 {
        0 => (None, rest),
        1 => (Some(KNOWN.to_owned()), rest),
        _ => {
            let mut parts = rest.splitn(2, |b| *b == b'\n');
            let sub = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            (Some(sub), parts.next().unwrap_or_default())
        }
    };
    let mut parts = rest.splitn(2, |b| *b == b'\n');
    let query = std::str::from_utf8(parts.next().unwrap_or_default()).ok()?;
    let body = parts.next().unwrap_or_default();
    if !base64 && std::str::from_utf8(body).is_err() {
        // API Gateway sends a non-UTF-8 body base64-encoded, always.
        return None;
    }
    if !query.bytes().all(uri_query_byte) {
        // API Gateway hands over a query string that is a valid URI part
        // (it refuses the request otherwise); lambda_http panics building
        // a request from one that is not (fuzz/regressions/dashboard/).
        return None;
    }
    let Ok(request) =
        lambda_http::request::from_str(&event_json(route, sub.as_deref(), query, body, base64))
    else {
        // Not an event API Gateway could send (e.g. a query it would have
        // refused); the runtime never hands such a thing to the handler.
        return None;
    };
    super::block_on(async {
        let now = OffsetDateTime::from_unix_timestamp(NOW).expect("NOW");
        let clock = Arc::new(ManualClock::new(now));
        let accounts = Arc::new(InMemoryAccountStore::default());
        accounts.insert(AccountBilling::new(AccountId::parse(KNOWN).expect("KNOWN")));
        let metrics = Arc::new(InMemoryMetrics::default());
        let polo = Arc::new(InMemoryPolo::default());
        let ports = Ports {
            polo: Some(polo.clone()),
            catalogue: Arc::new(
                Catalogue::from_lists(
                    "prod_local_starter",
                    "prod_local_pro",
                    "prod_local_enterprise",
                )
                .expect("a catalogue"),
            ),
            ..Ports::new(
                accounts.clone(),
                Arc::new(InMemoryProvisioner::default()),
                clock,
                metrics,
            )
        };
        let dashboard = ports
            .dashboard(&ports.updater(), settings())
            .expect("the dashboard's ports");
        let before = accounts.all();
        let mut context = lambda_http::Context::default();
        context.deadline = u64::try_from((NOW + 10) * 1000).unwrap_or(0);
        let request = lambda_http::RequestExt::with_lambda_context(request, context);

        let response = dashboard.handle(route, request).await;

        let status = response.status().as_u16();
        let answer = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        // The one 5xx with healthy ports: a signed-in user whose account
        // the account store does not hold (the app's auth and Convex
        // disagree: ours to fix, so `internal`, never a guess).
        if status >= 500 {
            assert!(
                status == 500 && answer.contains(r#""code":"internal""#),
                "healthy ports, yet {status}: {answer}"
            );
            assert!(
                sub.as_deref().is_some_and(|s| s != KNOWN),
                "a known account answered {status}: {answer}"
            );
        }
        let json: serde_json::Value = serde_json::from_str(&answer).expect("every answer is JSON");
        let code = json["code"].as_str().map(str::to_owned);
        if let Some(code) = &code {
            let documented = Code::ALL
                .into_iter()
                .find(|c| c.as_str() == code)
                .unwrap_or_else(|| panic!("an undocumented code {code}"));
            assert_eq!(documented.status(), status, "{code} with the wrong status");
        }
        if status >= 400 {
            assert_eq!(accounts.all(), before, "a refusal changed an account");
            assert!(
                polo.created_checkouts().is_empty() && polo.updates().is_empty(),
                "a refusal reached Polo"
            );
        }
        // The free text of an answer is its message; the rest is our own
        // vocabulary (codes, URLs we made), which an input may happen to
        // contain without the answer quoting it.
        let message = json["message"].as_str().unwrap_or_default();
        assert_not_quoted(message, body);
        assert_not_quoted(message, query.as_bytes());
        Some((status, code))
    })
}

fn settings() -> Settings {
    Settings {
        urls: UrlPolicy {
            allowed_hosts: vec!["sandbox.polo.example".into()],
            allow_loopback_http: false,
            app_base_url: Url::parse("https://app.example.com").expect("a URL"),
        },
        billing_provider: BillingProvider::Polo,
        paypal_checkout_url: Url::parse("https://www.paypal.com/webapps/billing/plans/subscribe")
            .expect("a URL"),
        paypal_manage_url: Url::parse("https://www.paypal.com/myaccount/autopay/").expect("a URL"),
        account_id_claim: "sub".into(),
        polo_budget: POLO_BUDGET,
    }
}

/// An API Gateway HTTP API (v2.0) event for one dashboard call.
fn event_json(route: Route, sub: Option<&str>, query: &str, body: &[u8], base64: bool) -> String {
    let (method, path) = route.route_key().split_once(' ').unwrap_or(("GET", "/"));
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": route.route_key(),
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "origin": "https://app.example.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "fuzz",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "Mozilla/5.0"},
            "requestId": "fuzz",
            "routeKey": route.route_key(),
            "stage": "$default",
            "time": "24/Nov/2026:22:00:00 +0000",
            "timeEpoch": NOW * 1000
        },
        "body": body,
        "isBase64Encoded": base64
    });
    let params: serde_json::Map<String, serde_json::Value> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    if !params.is_empty() {
        event["queryStringParameters"] = params.into();
    }
    if let Some(sub) = sub {
        event["requestContext"]["authorizer"] =
            serde_json::json!({"jwt": {"claims": {"sub": sub}, "scopes": null}});
    }
    event.to_string()
}

/// A byte a URI's query may carry as it is (RFC 3986: unreserved,
/// sub-delims, `:`, `@`, `/`, `?`, and `%` of an escape).
fn uri_query_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)
}
