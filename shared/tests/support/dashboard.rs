//! The dashboard functions assembled over the same in-memory ports as the
//! webhook side (one account store, one orchestrator, one Polo), so a test
//! can check out, land back, and see the credentials issued.

use super::apigw;
use super::system::System;
use billing::config::BillingProvider;
use billing::dashboard::{Code, Dashboard, Route, Settings, UrlPolicy, POLO_BUDGET};
use billing::polo::ports::BillingApi;
use billing::ports::Ports;
use serde_json::Value;
use std::sync::Arc;
use time::Duration;
use url::Url;

pub fn settings(provider: BillingProvider) -> Settings {
    Settings {
        urls: UrlPolicy {
            allowed_hosts: vec!["sandbox.polo.example".into()],
            allow_loopback_http: false,
            app_base_url: Url::parse("https://app.example.com").unwrap(),
        },
        billing_provider: provider,
        paypal_checkout_url: Url::parse("https://www.paypal.com/webapps/billing/plans/subscribe")
            .unwrap(),
        paypal_manage_url: Url::parse("https://www.paypal.com/myaccount/autopay/").unwrap(),
        account_id_claim: "sub".into(),
        polo_budget: POLO_BUDGET,
    }
}

/// A dashboard over the system's ports, talking to `polo`.
pub fn dashboard(system: &System, polo: Arc<dyn BillingApi>, settings: Settings) -> Dashboard {
    Ports {
        polo: Some(polo),
        ..system.ports.clone()
    }
    .dashboard(&system.updater, settings)
    .unwrap()
}

/// One call as API Gateway hands it over; `sub: None` sends no claims.
pub async fn call(
    dashboard: &Dashboard,
    route: Route,
    sub: Option<&str>,
    query: &str,
    body: Option<&str>,
) -> (u16, Value) {
    call_with(dashboard, route, sub, query, body.map(str::as_bytes), false).await
}

pub async fn call_with(
    dashboard: &Dashboard,
    route: Route,
    sub: Option<&str>,
    query: &str,
    body: Option<&[u8]>,
    base64: bool,
) -> (u16, Value) {
    let json = apigw::dashboard_event_json(route.route_key(), sub, query, body, base64);
    let deadline = time::OffsetDateTime::now_utc() + Duration::seconds(10);
    let deadline_ms = (deadline.unix_timestamp_nanos() / 1_000_000) as u64;
    let response = dashboard
        .handle(route, apigw::request(&json, deadline_ms))
        .await;
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every answer is JSON"
    );
    let body: Value = serde_json::from_slice(response.body().as_ref()).expect("a JSON body");
    // Every answer any test sees must be the documented one.
    if let Err(problem) = super::openapi::contract().check(route.route_key(), status, &body) {
        panic!("the answer breaks docs/openapi.yaml: {problem}");
    }
    if let Some(code) = body["code"].as_str() {
        let documented = Code::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .unwrap_or_else(|| panic!("undocumented code {code}"));
        assert_eq!(
            documented.status(),
            status,
            "{code} answered with the wrong status"
        );
    }
    (status, body)
}
