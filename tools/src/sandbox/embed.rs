//! The embedded checkout: what an app mounts in an iframe with a
//! checkout's `client_secret` when it created the checkout with an
//! `embed_origin` (polo-api.md). `GET /checkout/{client_secret}/embed`
//! serves the same plan, price, Pay and declined card as the hosted page,
//! framed only by that origin (`Content-Security-Policy: frame-ancestors`),
//! and tells the app what happened by `postMessage` to that origin only:
//! `{type: "polo:checkout", event, checkoutId}` with `event` one of
//! `loaded`, `success` (paid), `declined` (the card was refused; nothing
//! was charged) and `close` (the buyer closed it). A checkout created
//! without `embed_origin` cannot be embedded (403).
//!
//! Polo's own embed is not documented yet; this is the shape the sandbox
//! assumes (docs/POLO.md), modelled on Polar's embedded checkout.

use super::html::{escape, money, page};
use super::model::{Checkout, CheckoutStatus, Product};
use super::Sandbox;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use std::sync::Arc;

/// What the embed tells its parent (the `type` of every message).
pub const MESSAGE_TYPE: &str = "polo:checkout";

pub fn routes(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/checkout/{secret}/embed", get(show))
        .route("/checkout/{secret}/embed/pay", post(pay))
        .route("/checkout/{secret}/embed/decline", post(decline))
        .with_state(sandbox)
}

fn lookup(sandbox: &Sandbox, secret: &str) -> Option<(Checkout, Product)> {
    sandbox.with_state(|state, _| {
        let checkout = state.checkout_by_secret(secret)?.clone();
        let product = state.product(&checkout.product_id).cloned()?;
        Some((checkout, product))
    })
}

/// A page the app's origin, and only it, may frame.
fn framed(origin: &str, status: StatusCode, title: &str, body: &str) -> Response {
    let policy = format!("frame-ancestors {origin}");
    match http::HeaderValue::from_str(&policy) {
        Ok(value) => (
            status,
            [(http::header::CONTENT_SECURITY_POLICY, value)],
            page(title, body),
        )
            .into_response(),
        Err(_) => refused("This checkout's embed origin is not valid."),
    }
}

fn refused(why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(
            http::header::CONTENT_SECURITY_POLICY,
            http::HeaderValue::from_static("frame-ancestors 'none'"),
        )],
        page(
            "Checkout cannot be embedded",
            &format!("<p class=\"error\" id=\"status\">{}</p>", escape(why)),
        ),
    )
        .into_response()
}

/// A JSON value safe inside a `<script>` block.
fn js(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
}

/// The script that posts `event` to the embedding app (and, for `close`
/// buttons, wires them up).
fn messenger(origin: &str, checkout_id: &str, event: Option<&str>) -> String {
    let post = |event: &str| {
        js(&serde_json::json!({"type": MESSAGE_TYPE, "event": event, "checkoutId": checkout_id}))
    };
    let now = event
        .map(|e| format!("parent.postMessage({}, origin);", post(e)))
        .unwrap_or_default();
    format!(
        r#"<script>
const origin = {origin};
{now}
document.querySelectorAll("[data-close]").forEach(b => b.addEventListener("click", () => parent.postMessage({close}, origin)));
</script>"#,
        origin = js(&serde_json::Value::String(origin.to_owned())),
        close = post("close"),
    )
}

async fn show(State(sandbox): State<Arc<Sandbox>>, Path(secret): Path<String>) -> Response {
    let Some((checkout, product)) = lookup(&sandbox, &secret) else {
        return refused("This checkout link is not valid.");
    };
    let Some(origin) = checkout.embed_origin.clone() else {
        return refused("This checkout was not created for embedding (no embed_origin).");
    };
    let price = format!(
        "{} / {}",
        money(product.price_amount, &product.currency),
        product.recurring_interval.as_str()
    );
    let action = format!("/checkout/{}/embed", escape(&secret));
    let body = match checkout.status {
        CheckoutStatus::Open => format!(
            r#"<div class="card" id="embedded-checkout">
<p id="plan"><strong>{name}</strong> — {description}</p>
<p class="price" id="price">{price}</p>
<form method="post" action="{action}/pay">
<label>Email <input type="email" name="email" value="{email}" required></label>
<p>Card <input value="4242 4242 4242 4242" disabled> (sandbox)</p>
<button type="submit" id="pay">Pay {price}</button>
</form>
<form method="post" action="{action}/decline">
<button type="submit" class="danger" id="decline">Pay with a card that is declined</button>
</form>
<button type="button" class="secondary" id="close" data-close>Close</button>
</div>{script}"#,
            name = escape(&product.name),
            description = escape(&product.description),
            price = escape(&price),
            email = escape(
                checkout
                    .customer_email
                    .as_deref()
                    .unwrap_or("dev@example.com")
            ),
            script = messenger(&origin, &checkout.id, Some("loaded")),
        ),
        status => format!(
            "<p class=\"notice\" id=\"status\">This checkout is {}.</p><button type=\"button\" id=\"close\" data-close>Close</button>{}",
            status.as_str(),
            messenger(&origin, &checkout.id, None),
        ),
    };
    framed(
        &origin,
        StatusCode::OK,
        &format!("Subscribe to {}", product.name),
        &body,
    )
}

async fn pay(
    State(sandbox): State<Arc<Sandbox>>,
    Path(secret): Path<String>,
    Form(form): Form<super::pages::PayForm>,
) -> Response {
    let Some((checkout, _)) = lookup(&sandbox, &secret) else {
        return refused("This checkout link is not valid.");
    };
    let Some(origin) = checkout.embed_origin.clone() else {
        return refused("This checkout was not created for embedding (no embed_origin).");
    };
    let email = form.email_or_default();
    match sandbox.transition(|state, now| state.pay(&secret, &email, now)) {
        Ok(checkout_id) => framed(
            &origin,
            StatusCode::OK,
            "Payment received",
            &format!(
                "<p class=\"notice\" id=\"status\">Payment received: your subscription is active.</p>{}",
                messenger(&origin, &checkout_id, Some("success"))
            ),
        ),
        Err(refusal) => framed(
            &origin,
            StatusCode::CONFLICT,
            "Checkout unavailable",
            &format!(
                "<p class=\"error\" id=\"status\">{}.</p><button type=\"button\" id=\"close\" data-close>Close</button>{}",
                escape(&refusal.message()),
                messenger(&origin, &checkout.id, None)
            ),
        ),
    }
}

async fn decline(State(sandbox): State<Arc<Sandbox>>, Path(secret): Path<String>) -> Response {
    let Some((checkout, _)) = lookup(&sandbox, &secret) else {
        return refused("This checkout link is not valid.");
    };
    let Some(origin) = checkout.embed_origin.clone() else {
        return refused("This checkout was not created for embedding (no embed_origin).");
    };
    match sandbox.with_state(|state, now| state.decline(&secret, now)) {
        Ok(()) => framed(
            &origin,
            StatusCode::PAYMENT_REQUIRED,
            "Card declined",
            &format!(
                "<p class=\"error\" id=\"status\">Your card was declined. No charge was made.</p><button type=\"button\" id=\"close\" data-close>Back to the app</button>{}",
                messenger(&origin, &checkout.id, Some("declined"))
            ),
        ),
        Err(refusal) => framed(
            &origin,
            StatusCode::CONFLICT,
            "Checkout unavailable",
            &format!(
                "<p class=\"error\" id=\"status\">{}.</p><button type=\"button\" id=\"close\" data-close>Close</button>{}",
                escape(&refusal.message()),
                messenger(&origin, &checkout.id, None)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messenger_posts_only_to_the_embed_origin_and_cannot_close_its_script() {
        let script = messenger("http://127.0.0.1:3000", "c1</script>", Some("success"));
        assert!(script.contains(r#"const origin = "http://127.0.0.1:3000";"#));
        assert!(script.contains(r#"parent.postMessage({"checkoutId":"c1<\/script>","event":"success","type":"polo:checkout"}, origin);"#));
        assert_eq!(script.matches("</script>").count(), 1);
    }
}
