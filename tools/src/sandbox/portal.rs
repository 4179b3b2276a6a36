//! The customer portal a customer session opens: the customer's
//! subscriptions, with cancel at period end, uncancel, change plan, and
//! "pay now" for a past-due renewal. Each action is a form POST that
//! answers 303 back to the portal (post/redirect/get).

use super::html::{escape, money, page};
use super::lifecycle::Refusal;
use super::model::{rfc3339, Product, SubStatus, Subscription};
use super::Sandbox;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/portal", get(show))
        .route("/portal/action", post(act))
        .with_state(sandbox)
}

/// The portal URL a session returns (the token is its credential).
pub fn portal_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/portal?customer_session_token={token}",
        public_url.trim_end_matches('/')
    )
}

#[derive(Debug, Deserialize)]
pub struct PortalQuery {
    #[serde(default)]
    customer_session_token: String,
    #[serde(default)]
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    token: String,
    subscription_id: String,
    action: String,
    #[serde(default)]
    product_id: Option<String>,
}

fn expired() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        page(
            "Link expired",
            "<p class=\"error\">This portal link has expired. Open the billing portal again from the app.</p>",
        ),
    )
        .into_response()
}

struct View {
    email: String,
    return_url: Option<String>,
    subscriptions: Vec<Subscription>,
    products: Vec<Product>,
}

async fn show(State(sandbox): State<Arc<Sandbox>>, Query(query): Query<PortalQuery>) -> Response {
    let token = query.customer_session_token;
    let view = sandbox.with_state(|state, now| {
        let session = state.session(&token, now)?.clone();
        let mut subscriptions: Vec<Subscription> = state
            .subscriptions
            .values()
            .filter(|s| s.customer_id == session.customer_id)
            .cloned()
            .collect();
        subscriptions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Some(View {
            email: state
                .customers
                .get(&session.customer_id)
                .map(|c| c.email.clone())
                .unwrap_or_default(),
            return_url: session.return_url,
            subscriptions,
            products: state.products.clone(),
        })
    });
    let Some(view) = view else {
        return expired();
    };
    let mut body = String::new();
    if let Some(notice) = query.notice {
        body.push_str(&format!(
            "<p class=\"notice\" id=\"notice\">{}</p>",
            escape(&notice)
        ));
    }
    body.push_str(&format!("<p>Signed in as {}</p>", escape(&view.email)));
    if view.subscriptions.is_empty() {
        body.push_str("<p>No subscriptions.</p>");
    }
    for s in &view.subscriptions {
        body.push_str(&card(s, &view.products, &token));
    }
    if let Some(url) = view.return_url {
        body.push_str(&format!(
            "<p><a href=\"{}\" id=\"back\">Back to the app</a></p>",
            escape(&url)
        ));
    }
    page("Billing portal", &body).into_response()
}

fn card(s: &Subscription, products: &[Product], token: &str) -> String {
    let name = products
        .iter()
        .find(|p| p.id == s.product_id)
        .map_or(s.product_id.as_str(), |p| p.name.as_str());
    let form = |action: &str, label: &str, class: &str, extra: &str| {
        format!(
            r#"<form method="post" action="/portal/action" style="display:inline">
<input type="hidden" name="token" value="{token}"><input type="hidden" name="subscription_id" value="{id}">
<input type="hidden" name="action" value="{action}">{extra}<button type="submit" class="{class}" id="{action}-{id}">{label}</button></form>"#,
            token = escape(token),
            id = escape(&s.id),
        )
    };
    let mut actions = String::new();
    if s.status.is_live() && !s.cancel_at_period_end {
        actions.push_str(&form("cancel", "Cancel at period end", "danger", ""));
        let options: String = products
            .iter()
            .filter(|p| !p.is_archived && p.id != s.product_id)
            .map(|p| {
                format!(
                    "<option value=\"{}\">{} — {}</option>",
                    escape(&p.id),
                    escape(&p.name),
                    money(p.price_amount, &p.currency)
                )
            })
            .collect();
        actions.push_str(&form(
            "change",
            "Change plan",
            "secondary",
            &format!("<select name=\"product_id\">{options}</select>"),
        ));
    }
    if s.status.is_live() && s.cancel_at_period_end {
        actions.push_str(&form("uncancel", "Keep my subscription", "", ""));
    }
    if s.status == SubStatus::PastDue {
        actions.push_str(&form("recover", "Pay now", "", ""));
    }
    let ends = match (s.cancel_at_period_end, s.current_period_end) {
        // The period the failed renewal was for: what "Pay now" pays.
        (_, Some(end)) if s.status == SubStatus::PastDue => format!(
            "unpaid: {} to {}",
            rfc3339(s.current_period_start),
            rfc3339(end)
        ),
        (true, Some(end)) => format!("ends {}", rfc3339(end)),
        (false, Some(end)) if s.status.is_live() => format!("renews {}", rfc3339(end)),
        _ => String::new(),
    };
    format!(
        r#"<div class="card" data-subscription="{id}"><dl>
<dt>Plan</dt><dd>{name} — {price}</dd><dt>Status</dt><dd class="status">{status}</dd><dt>Period</dt><dd>{ends}</dd>
</dl>{actions}</div>"#,
        id = escape(&s.id),
        name = escape(name),
        price = money(s.amount, &s.currency),
        status = s.status.as_str(),
    )
}

async fn act(State(sandbox): State<Arc<Sandbox>>, Form(form): Form<ActionForm>) -> Response {
    let owned = sandbox.with_state(|state, now| {
        let customer = state.session(&form.token, now)?.customer_id.clone();
        Some(
            state
                .subscriptions
                .get(&form.subscription_id)
                .is_some_and(|s| s.customer_id == customer),
        )
    });
    match owned {
        None => return expired(),
        Some(false) => return (StatusCode::NOT_FOUND, "no such subscription").into_response(),
        Some(true) => {}
    }
    let id = form.subscription_id.clone();
    let outcome = sandbox.transition(|state, now| {
        let events = match form.action.as_str() {
            "cancel" => state.set_cancel_at_period_end(&id, true, now)?,
            "uncancel" => state.set_cancel_at_period_end(&id, false, now)?,
            "recover" => state.recover(&id, now)?,
            "change" => {
                let product = form.product_id.clone().unwrap_or_default();
                let upgrade = match (state.product(&product), state.subscriptions.get(&id)) {
                    (Some(p), Some(s)) => p.price_amount > s.amount,
                    _ => false,
                };
                state.change_product(&id, &product, upgrade, now)?
            }
            _ => return Err(Refusal::Invalid("action".into(), "unknown action".into())),
        };
        Ok(((), events))
    });
    let notice = match outcome {
        Ok(()) => match form.action.as_str() {
            "cancel" => "Your subscription will end at the end of the period.",
            "uncancel" => "Your subscription will renew.",
            "recover" => "Payment received: your subscription is active again.",
            _ => "Your plan was changed.",
        }
        .to_owned(),
        Err(Refusal::NotPermitted(msg) | Refusal::Invalid(_, msg) | Refusal::Conflict(msg)) => {
            format!("Not done: {msg}.")
        }
        Err(Refusal::NotFound(what)) => format!("Not done: {what} not found."),
    };
    let url = format!(
        "/portal?customer_session_token={}&notice={}",
        encode(&form.token),
        encode(&notice)
    );
    Redirect::to(&url).into_response()
}

fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}
