//! The hosted checkout page (`Checkout.url`): the plan, its price, Pay,
//! and a card that is declined. Pay answers 303 to the checkout's
//! `success_url` with `{CHECKOUT_ID}` filled in.

use super::html::{escape, money, page};
use super::lifecycle::Refusal;
use super::model::{Checkout, CheckoutStatus, Product};
use super::Sandbox;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/checkout/{secret}", get(show))
        .route("/checkout/{secret}/pay", post(pay))
        .route("/checkout/{secret}/decline", post(decline))
        .with_state(sandbox)
}

#[derive(Debug, Deserialize)]
pub struct PayForm {
    #[serde(default)]
    email: String,
}

impl PayForm {
    /// The buyer's email, or the sandbox's default when it is not one.
    pub fn email_or_default(self) -> String {
        if self.email.contains('@') {
            self.email
        } else {
            "dev@example.com".to_owned()
        }
    }
}

impl Refusal {
    /// What a hosted page says about it.
    pub fn message(&self) -> String {
        match self {
            Refusal::NotFound(what) => format!("no such {what}"),
            Refusal::NotPermitted(msg) | Refusal::Invalid(_, msg) | Refusal::Conflict(msg) => {
                msg.clone()
            }
        }
    }
}

fn lookup(sandbox: &Sandbox, secret: &str) -> Option<(Checkout, Option<Product>)> {
    sandbox.with_state(|state, _| {
        let checkout = state.checkout_by_secret(secret)?.clone();
        let product = state.product(&checkout.product_id).cloned();
        Some((checkout, product))
    })
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "Checkout not found",
            "<p>This checkout link is not valid.</p>",
        ),
    )
        .into_response()
}

async fn show(State(sandbox): State<Arc<Sandbox>>, Path(secret): Path<String>) -> Response {
    let Some((checkout, product)) = lookup(&sandbox, &secret) else {
        return not_found();
    };
    let Some(product) = product else {
        return not_found();
    };
    let price = format!(
        "{} / {}",
        money(product.price_amount, &product.currency),
        product.recurring_interval.as_str()
    );
    let trial = match (checkout.allow_trial, checkout.trial, product.trial_days) {
        (true, Some((interval, n)), _) => format!(
            "<p class=\"notice\" id=\"trial\">Free trial: {n} {}(s), then {price}.</p>",
            interval.as_str()
        ),
        (true, None, Some(days)) if days > 0 => {
            format!("<p class=\"notice\" id=\"trial\">Free trial: {days} day(s), then {price}.</p>")
        }
        _ => String::new(),
    };
    let action = format!("/checkout/{}", escape(&secret));
    let body = match checkout.status {
        CheckoutStatus::Open => format!(
            r#"<div class="card">
<p id="plan"><strong>{name}</strong> — {description}</p>
<p class="price" id="price">{price}</p>
{trial}
<form method="post" action="{action}/pay">
<label>Email <input type="email" name="email" value="{email}" required></label>
<p>Card <input value="4242 4242 4242 4242" disabled> (sandbox)</p>
<button type="submit" id="pay">Pay {price}</button>
</form>
<form method="post" action="{action}/decline">
<button type="submit" class="danger" id="decline">Pay with a card that is declined</button>
</form>
</div>
<p>Expires at {expires}.</p>"#,
            name = escape(&product.name),
            description = escape(&product.description),
            price = escape(&price),
            email = escape(
                checkout
                    .customer_email
                    .as_deref()
                    .unwrap_or("dev@example.com")
            ),
            expires = super::model::rfc3339(checkout.expires_at),
        ),
        status => format!(
            "<p class=\"notice\" id=\"status\">This checkout is {}.</p>{}",
            status.as_str(),
            back_link(checkout.return_url.as_deref())
        ),
    };
    page(&format!("Subscribe to {}", product.name), &body).into_response()
}

fn back_link(url: Option<&str>) -> String {
    url.map(|u| {
        format!(
            "<p><a href=\"{}\" id=\"back\">Back to the app</a></p>",
            escape(u)
        )
    })
    .unwrap_or_default()
}

/// `{CHECKOUT_ID}` (or its percent-encoded form) replaced by the id.
pub fn success_redirect(success_url: &str, checkout_id: &str) -> String {
    success_url
        .replace("{CHECKOUT_ID}", checkout_id)
        .replace("%7BCHECKOUT_ID%7D", checkout_id)
}

async fn pay(
    State(sandbox): State<Arc<Sandbox>>,
    Path(secret): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let email = form.email_or_default();
    let paid = sandbox.transition(|state, now| state.pay(&secret, &email, now));
    match paid {
        Ok(checkout_id) => {
            let success = lookup(&sandbox, &secret).and_then(|(c, _)| c.success_url);
            match success {
                Some(url) => Redirect::to(&success_redirect(&url, &checkout_id)).into_response(),
                None => page(
                    "Payment received",
                    "<p class=\"notice\" id=\"status\">Thank you: your subscription is active.</p>",
                )
                .into_response(),
            }
        }
        Err(refusal) => refusal_page(refusal),
    }
}

async fn decline(State(sandbox): State<Arc<Sandbox>>, Path(secret): Path<String>) -> Response {
    match sandbox.with_state(|state, now| state.decline(&secret, now)) {
        Ok(()) => {
            let back = lookup(&sandbox, &secret)
                .map(|(c, _)| back_link(c.return_url.as_deref()))
                .unwrap_or_default();
            (
                StatusCode::PAYMENT_REQUIRED,
                page(
                    "Card declined",
                    &format!(
                        "<p class=\"error\" id=\"status\">Your card was declined. No charge was made.</p>{back}"
                    ),
                ),
            )
                .into_response()
        }
        Err(refusal) => refusal_page(refusal),
    }
}

fn refusal_page(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NotFound(_) => not_found(),
        Refusal::NotPermitted(msg) | Refusal::Invalid(_, msg) | Refusal::Conflict(msg) => (
            StatusCode::CONFLICT,
            page(
                "Checkout unavailable",
                &format!("<p class=\"error\" id=\"status\">{}.</p>", escape(&msg)),
            ),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_success_url_gets_the_checkout_id_in_place_of_the_placeholder() {
        assert_eq!(
            success_redirect(
                "http://127.0.0.1:3000/billing?checkout_id={CHECKOUT_ID}",
                "c1"
            ),
            "http://127.0.0.1:3000/billing?checkout_id=c1"
        );
        assert_eq!(
            success_redirect("https://app.example/ok?c=%7BCHECKOUT_ID%7D", "c2"),
            "https://app.example/ok?c=c2"
        );
    }
}
