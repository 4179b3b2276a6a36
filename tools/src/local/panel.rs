//! `/billing`: the reference billing panel — a static page
//! (`billing.html`) and its script (`billing.js`, served at
//! `/billing/panel.js`), no build step — over the real dashboard routes
//! with a dev token. The dashboard team copies it; QA and the browser tests
//! drive it.
//!
//! Who is signed in, as a dashboard's session would say: `?account=` (a
//! new account is signed up), else the owner of `?checkout_id=` (Polo's
//! success URL), else the account this browser last used (a cookie), else
//! `acct_local_1`. So every page Polo sends the buyer back to — the success
//! URL, a declined card's "Back to the app", the portal's return link —
//! lands on the account that started it. `?paypal=<tier>` signs a new
//! account up as a not-yet-migrated PayPal subscriber on that tier, paid
//! for 20 more days (what `admin migrate-paypal` records; in-memory
//! accounts only, as every local sign-up).

use super::LocalStack;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use billing::domain::{
    mark_paypal, AccountBilling, AccountId, CheckoutId, CustomerId, Decision, PaypalLegacy,
    PlanTier,
};
use serde::Deserialize;
use std::sync::Arc;

/// The cookie that remembers who this browser is signed in as.
pub const SESSION_COOKIE: &str = "local_billing_account";

/// How long a local PayPal subscriber has already paid for.
const PAYPAL_PAID_DAYS: i64 = 20;

#[derive(Debug, Default, Deserialize)]
pub struct PanelQuery {
    #[serde(default)]
    checkout_id: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    paypal: Option<String>,
}

/// The account a `Cookie` header names, if it is one.
pub fn session_account(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|a| AccountId::parse(a).is_ok())
}

/// The owner of a checkout, asked of Polo through the dashboard's client.
async fn checkout_owner(stack: &LocalStack, raw: &str) -> Option<String> {
    let dashboard = stack.dashboard.as_ref()?;
    let id = CheckoutId::parse(raw).ok()?;
    let deadline = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
    let checkout = dashboard.polo.get_checkout(&id, deadline).await.ok()?;
    checkout.account.map(|a| a.to_string())
}

/// Signs `account` up if the in-memory store does not know it yet: a new
/// Polo-side account, or with `paypal`, a PayPal subscriber on that tier.
pub(super) fn sign_up(stack: &LocalStack, account: &AccountId, paypal: Option<PlanTier>) {
    let Some(accounts) = &stack.memory.accounts else {
        return;
    };
    if accounts.account(account).is_some() {
        return;
    }
    let fresh = AccountBilling::new(account.clone());
    let legacy = paypal
        .filter(|tier| *tier != PlanTier::Free)
        .and_then(|tier| {
            let now = stack.dashboard.as_ref()?.clock.now();
            let customer = CustomerId::parse(&format!("cus_legacy_{}", account.as_str())).ok()?;
            let legacy = PaypalLegacy {
                subscription_id: format!("I-LOCAL-{}", account.as_str()),
                tier,
                paid_through: now + time::Duration::days(PAYPAL_PAID_DAYS),
            };
            match mark_paypal(&fresh, legacy, customer, now) {
                Ok(Decision::Apply(applied)) => Some(applied.next),
                _ => None,
            }
        });
    accounts.insert(legacy.unwrap_or(fresh));
}

/// `GET /billing[?account=..|?checkout_id=..][&paypal=<tier>]`: the panel,
/// signed in (see the module docs), with a fresh dev token.
pub async fn page(
    State(stack): State<Arc<LocalStack>>,
    Query(q): Query<PanelQuery>,
    headers: HeaderMap,
) -> Response {
    let asked = q.account.filter(|a| AccountId::parse(a).is_ok());
    let owner = match (&asked, &q.checkout_id) {
        (None, Some(raw)) => checkout_owner(&stack, raw).await,
        _ => None,
    };
    let account = asked
        .or(owner)
        .or_else(|| session_account(&headers))
        .unwrap_or_else(|| super::LOCAL_ACCOUNTS[0].to_owned());
    let Ok(id) = AccountId::parse(&account) else {
        return (http::StatusCode::BAD_REQUEST, "not an account id").into_response();
    };
    sign_up(&stack, &id, q.paypal.as_deref().and_then(PlanTier::parse));
    let token = super::pages::sign_in(&stack, &id);
    let config = serde_json::json!({
        "account": id.as_str(),
        "token": token,
        "checkoutId": q.checkout_id,
        "sandbox": stack.sandbox_url,
    });
    let html = include_str!("billing.html")
        .replace("__ACCOUNT__", &super::pages::escape(id.as_str()))
        .replace("__CONFIG_JSON__", &config.to_string().replace("</", "<\\/"));
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; SameSite=Lax; HttpOnly",
        id.as_str()
    );
    (
        [
            (http::header::SET_COOKIE, cookie),
            (http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Html(html),
    )
        .into_response()
}

/// `GET /billing/panel.js`: the panel's script.
pub async fn script() -> Response {
    (
        [
            (http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (http::header::CACHE_CONTROL, "no-store"),
        ],
        include_str!("billing.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_read_among_others_and_only_when_it_is_an_account_id() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("a=b; local_billing_account=acct_qa_2; c=d"),
        );
        assert_eq!(session_account(&headers).as_deref(), Some("acct_qa_2"));
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("local_billing_account=not an id"),
        );
        assert_eq!(session_account(&headers), None);
        assert_eq!(session_account(&HeaderMap::new()), None);
    }
}
