//! The billing panel's refusals and wording in a real browser (headless
//! Debian Chromium; no browser is a failure, never a skip): a declined card
//! on Polo's page and in the embedded checkout, `already_subscribed`, a
//! Polo outage, and a PayPal legacy account — PayPal wording and links,
//! then its move to Polo with the paid days as a trial. Every answer is
//! shown as its `message`, with its `code` on the element. Screenshots:
//! `test-artifacts/billing-panel/<state>.png`.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{
    click, element, in_browser, message, open_panel, screenshot, shots, text, text_once,
};
use fantoccini::{Client, Locator};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_goes_back_to_the_account_that_started_the_checkout_with_nothing_charged() {
    let local = support::start_local().await;
    let app = local.app.clone();
    let (declined, back_href, account, plan, said) = in_browser(|c| async move {
        // Another account was used in this browser first.
        open_panel(&c, &app, "acct_local_2").await?;
        open_panel(&c, &app, "acct_panel_declined").await?;
        click(&c, "button[data-plan='pro']").await?;
        click(&c, "#decline").await?;
        let declined = element(&c, "#status").await?.text().await?;
        let back = element(&c, "#back").await?;
        let href = back.attr("href").await?.unwrap_or_default();
        screenshot(&c, &shots(), "card-declined").await?;
        back.click().await?;
        element(&c, "body[data-loaded='true']").await?;
        let said = message(&c, "did not go through").await?;
        let account = text(&c, "#account").await?;
        let plan = text(&c, "#plan-tier").await?;
        screenshot(&c, &shots(), "back-after-declined-card").await?;
        Ok((declined, href, account, plan, said))
    })
    .await;
    assert_eq!(declined, "Your card was declined. No charge was made.");
    assert_eq!(
        back_href,
        format!("{}/billing", local.app),
        "the checkout's return URL"
    );
    assert_eq!(account, "acct_panel_declined");
    assert_eq!(plan, "free");
    assert_eq!(
        said,
        (
            "The payment did not go through. Nothing was charged.".to_owned(),
            "checkout_failed".to_owned()
        )
    );
    let events = local.admin_get("/admin/events").await;
    assert!(
        !events.to_string().contains("acct_panel_declined"),
        "a declined card sends no event: {events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_left_open_while_the_account_subscribed_elsewhere_shows_already_subscribed() {
    let local = support::start_local().await;
    let token = local.token("acct_panel_twice").await;
    let app = local.app.clone();
    let walk = |c: Client| {
        let (local, token) = (&local, &token);
        async move {
            open_panel(&c, &app, "acct_panel_twice").await?;
            local.buy(token, "pro").await;
            click(&c, "button[data-plan='starter']").await?;
            let said = message(&c, "already").await?;
            let plan = text_once(&c, "#plan-tier", "pro").await?;
            let subscribe_hidden = element(&c, "#subscribe").await?.attr("hidden").await?;
            screenshot(&c, &shots(), "already-subscribed").await?;
            Ok((said, plan, subscribe_hidden))
        }
    };
    let (said, plan, subscribe_hidden) = in_browser(walk).await;
    let (code, api) = local
        .api(
            "POST",
            "/api/billing/checkout",
            &token,
            Some(serde_json::json!({"planTier": "starter"})),
        )
        .await;
    assert_eq!(code, 409);
    assert_eq!(said.0, api["message"].as_str().unwrap_or("missing"));
    assert_eq!(said.1, "already_subscribed");
    assert_eq!(plan, "pro", "the panel reads the status again");
    assert!(subscribe_hidden.is_some(), "no Subscribe once subscribed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paypal_subscriber_reads_paypal_wording_and_links_and_can_move_to_polo() {
    let local = support::start_local().await;
    let app = local.app.clone();
    let (billed_by, label, note, said, link, subscribe_hidden) = in_browser(|c| async move {
        c.goto(&format!(
            "{app}/billing?account=acct_panel_paypal&paypal=pro"
        ))
        .await?;
        element(&c, "body[data-loaded='true']").await?;
        let billed_by = text(&c, "#provider").await?;
        let label = text(&c, "#renews-label").await?;
        let note = text(&c, "#state-note").await?;
        click(&c, "#portal").await?;
        let said = message(&c, "PayPal").await?;
        let link = element(&c, "#answer-link")
            .await?
            .attr("href")
            .await?
            .unwrap_or_default();
        let subscribe_hidden = element(&c, "#subscribe").await?.attr("hidden").await?;
        screenshot(&c, &shots(), "paypal-legacy").await?;
        Ok((billed_by, label, note, said, link, subscribe_hidden))
    })
    .await;
    assert_eq!(
        (billed_by.as_str(), label.as_str()),
        ("PayPal", "Paid through")
    );
    assert!(
        note.starts_with("Your pro plan is billed through PayPal until "),
        "{note}"
    );
    assert_eq!(
        said,
        (
            "Your subscription is billed through PayPal. Manage it on PayPal.".to_owned(),
            "provider_paypal".to_owned()
        )
    );
    assert_eq!(link, "https://www.paypal.com/myaccount/autopay");
    assert!(
        subscribe_hidden.is_none(),
        "a PayPal subscriber may move to Polo"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paypal_subscriber_who_moves_to_polo_gets_the_paid_days_as_a_trial_and_polo_wording() {
    let local = support::start_local().await;
    let app = local.app.clone();
    let (offer, billed_by, status, trial_ends, note, page) = in_browser(|c| async move {
        c.goto(&format!(
            "{app}/billing?account=acct_panel_moving&paypal=pro"
        ))
        .await?;
        element(&c, "body[data-loaded='true']").await?;
        click(&c, "button[data-plan='pro']").await?;
        let offer = element(&c, "#trial").await?.text().await?;
        click(&c, "#pay").await?;
        let billed_by = text_once(&c, "#provider", "Polo").await?;
        let status = text(&c, "#billing-status").await?;
        let trial_ends = element(&c, "#trial-ends")
            .await?
            .attr("data-at")
            .await?
            .unwrap_or_default();
        let note = text(&c, "#state-note").await?;
        let page = text(&c, "body").await?;
        screenshot(&c, &shots(), "paypal-moved-to-polo-trial").await?;
        Ok((offer, billed_by, status, trial_ends, note, page))
    })
    .await;
    assert!(offer.starts_with("Free trial: 20 day(s)"), "{offer}");
    assert_eq!((billed_by.as_str(), status.as_str()), ("Polo", "trial"));
    let api = local.status(&local.token("acct_panel_moving").await).await;
    assert_eq!(trial_ends, api["trialEndsAt"].as_str().unwrap_or("missing"));
    assert_eq!(
        note,
        "You are on a free trial; Polo charges the first payment when it ends."
    );
    assert!(!page.contains("PayPal"), "moved to Polo: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_in_the_embedded_checkout_closes_back_to_the_panel_with_nothing_charged() {
    let local = support::start_local().await;
    let app = local.app.clone();
    let (declined, closed, said, plan) = in_browser(|c| async move {
        open_panel(&c, &app, "acct_panel_embedded_declined").await?;
        click(&c, "input[name='mode'][value='embedded']").await?;
        click(&c, "button[data-plan='pro']").await?;
        element(&c, "dialog#checkout-modal[open]").await?;
        c.find(Locator::Css("#checkout-frame"))
            .await?
            .enter_frame()
            .await?;
        click(&c, "#decline").await?;
        let declined = element(&c, "#status").await?.text().await?;
        c.enter_parent_frame().await?;
        screenshot(&c, &shots(), "embedded-card-declined").await?;
        c.find(Locator::Css("#checkout-frame"))
            .await?
            .enter_frame()
            .await?;
        click(&c, "#close").await?;
        c.enter_parent_frame().await?;
        let said = message(&c, "did not go through").await?;
        let closed = c
            .find(Locator::Css("dialog#checkout-modal[open]"))
            .await
            .is_err();
        let plan = text(&c, "#plan-tier").await?;
        screenshot(&c, &shots(), "embedded-declined-closed").await?;
        Ok((declined, closed, said, plan))
    })
    .await;
    assert_eq!(declined, "Your card was declined. No charge was made.");
    assert!(closed, "its way back closes the modal");
    assert_eq!(
        said,
        (
            "The payment did not go through. Nothing was charged.".to_owned(),
            "checkout_failed".to_owned()
        )
    );
    assert_eq!(plan, "free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polo_outage_is_shown_as_the_answers_message_and_the_panel_stays_usable() {
    let local = support::start_local().await;
    let token = local.token("acct_panel_outage").await;
    local.buy(&token, "pro").await;
    let app = local.app.clone();
    let walk = |c: Client| {
        let local = &local;
        async move {
            open_panel(&c, &app, "acct_panel_outage").await?;
            local
                .admin("/admin/faults", json!({"kind": "503", "count": 3}))
                .await;
            click(&c, "#portal").await?;
            let said = message(&c, "not responding").await?;
            let url = c.current_url().await?;
            let enabled = element(&c, "#portal").await?.is_enabled().await?;
            screenshot(&c, &shots(), "polo-unavailable").await?;
            Ok((said, url, enabled))
        }
    };
    let (said, url, enabled) = in_browser(walk).await;
    assert_eq!(
        said,
        (
            "Polo, our payment provider, is not responding. Nothing was charged or changed; please try again in a minute.".to_owned(),
            "polo_unavailable".to_owned()
        )
    );
    assert_eq!(
        url.as_str(),
        format!("{}/billing?account=acct_panel_outage", local.app),
        "no redirect without a url"
    );
    assert!(enabled, "the panel can be used again");
}
