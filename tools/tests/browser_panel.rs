//! The reference billing panel (`/billing`) in a real browser (headless
//! Debian Chromium over WebDriver; no browser is a failure, never a skip),
//! the ways through: subscribe by redirect and embedded, upgrade and
//! downgrade, cancel at period end in the portal and back. The refusals and
//! the PayPal wording are `browser_panel_refusals.rs`. Each state's
//! screenshot is kept as `test-artifacts/billing-panel/<state>.png`. Every
//! assertion is on what the page shows once it shows it, never on how long
//! it took.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{
    click, element, in_browser, message, open_panel, screenshot, shots, text, text_once,
};
use fantoccini::{Client, Locator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_by_redirect_pays_on_polos_page_and_comes_back_to_the_panel_showing_the_plan() {
    let local = support::start_local().await;
    let app = local.app.clone();
    let (before, no_portal, source, hosted_price, after, said, renews) =
        in_browser(|c| async move {
            open_panel(&c, &app, "acct_panel_redirect").await?;
            let before = text(&c, "#plan-tier").await?;
            let source = c.source().await?;
            screenshot(&c, &shots(), "free").await?;
            click(&c, "#portal").await?;
            let no_portal = message(&c, "no Polo subscription").await?;
            click(&c, "button[data-plan='starter']").await?;
            let price = element(&c, "#price").await?.text().await?;
            screenshot(&c, &shots(), "hosted-checkout").await?;
            click(&c, "#pay").await?;
            let after = text_once(&c, "#plan-tier", "starter").await?;
            let said = message(&c, "subscribed").await?;
            let renews = (
                text(&c, "#renews-label").await?,
                element(&c, "#renews-at")
                    .await?
                    .attr("data-at")
                    .await?
                    .unwrap_or_default(),
                text(&c, "body").await?,
            );
            screenshot(&c, &shots(), "subscribed-by-redirect").await?;
            Ok((before, no_portal, source, price, after, said, renews))
        })
        .await;
    assert_eq!(before, "free");
    assert_eq!(
        no_portal,
        (
            "There is no Polo subscription to manage yet. Choose a plan first.".to_owned(),
            "no_subscription".to_owned()
        ),
        "a refusal is shown as the answer's message, with its code"
    );
    assert_eq!(hosted_price, "9.00 USD / month");
    assert_eq!(after, "starter");
    assert_eq!(said.0, "You are subscribed to the starter plan.");
    let status = local
        .status(&local.token("acct_panel_redirect").await)
        .await;
    assert_eq!(renews.0, "Renews on");
    assert_eq!(renews.1, status["renewsAt"].as_str().unwrap_or("missing"));
    for page in [&source, &renews.2] {
        assert!(
            !page.contains("PayPal"),
            "a Polo account never reads PayPal: {page}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_embedded_pays_in_a_modal_that_closes_and_the_panel_shows_the_plan() {
    let local = support::start_local().await;
    let app = local.app.clone();
    let (unpaid, modal_price, closed, plan, said, url) = in_browser(|c| async move {
        open_panel(&c, &app, "acct_panel_embedded").await?;
        click(&c, "input[name='mode'][value='embedded']").await?;
        // Closed unpaid first: nothing charged, the panel usable at once.
        click(&c, "button[data-plan='pro']").await?;
        element(&c, "dialog#checkout-modal[open]").await?;
        click(&c, "#checkout-close").await?;
        let unpaid = message(&c, "not finished").await?;
        element(&c, "body[data-loaded='true']").await?;
        click(&c, "button[data-plan='pro']").await?;
        element(&c, "dialog#checkout-modal[open]").await?;
        c.find(Locator::Css("#checkout-frame"))
            .await?
            .enter_frame()
            .await?;
        let price = element(&c, "#price").await?.text().await?;
        c.enter_parent_frame().await?;
        screenshot(&c, &shots(), "embedded-checkout-open").await?;
        c.find(Locator::Css("#checkout-frame"))
            .await?
            .enter_frame()
            .await?;
        click(&c, "#pay").await?;
        c.enter_parent_frame().await?;
        let plan = text_once(&c, "#plan-tier", "pro").await?;
        let closed = c
            .find(Locator::Css("dialog#checkout-modal[open]"))
            .await
            .is_err();
        let said = message(&c, "subscribed").await?;
        let url = c.current_url().await?;
        screenshot(&c, &shots(), "subscribed-embedded").await?;
        Ok((unpaid, price, closed, plan, said, url))
    })
    .await;
    assert_eq!(
        unpaid,
        (
            "The checkout was not finished. Nothing was charged.".to_owned(),
            "checkout_open".to_owned()
        )
    );
    assert_eq!(modal_price, "29.00 USD / month");
    assert_eq!(plan, "pro");
    assert!(closed, "the modal closes once Polo says it was paid");
    assert_eq!(said.0, "You are subscribed to the pro plan.");
    assert_eq!(
        url.as_str(),
        format!("{}/billing?account=acct_panel_embedded", local.app),
        "the page never left the app"
    );
    let status = local
        .status(&local.token("acct_panel_embedded").await)
        .await;
    assert_eq!(
        (
            status["planTier"].as_str(),
            status["billingStatus"].as_str()
        ),
        (Some("pro"), Some("active"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_and_a_downgrade_each_ask_for_confirmation_then_show_the_new_plan() {
    let local = support::start_local().await;
    let token = local.token("acct_panel_change").await;
    local.buy(&token, "pro").await;
    let app = local.app.clone();
    let (asked_up, kept, up, up_said, asked_down, down) = in_browser(|c| async move {
        open_panel(&c, &app, "acct_panel_change").await?;
        click(&c, "button[data-change='enterprise']").await?;
        let asked_up = text(&c, "#confirm-text").await?;
        click(&c, "#confirm-no").await?;
        let kept = text(&c, "#plan-tier").await?;
        click(&c, "button[data-change='enterprise']").await?;
        screenshot(&c, &shots(), "upgrade-confirmation").await?;
        click(&c, "#confirm-yes").await?;
        let up = text_once(&c, "#plan-tier", "enterprise").await?;
        let up_said = message(&c, "Your plan is now enterprise").await?;
        screenshot(&c, &shots(), "upgraded").await?;
        click(&c, "button[data-change='starter']").await?;
        let asked_down = text(&c, "#confirm-text").await?;
        click(&c, "#confirm-yes").await?;
        let down = text_once(&c, "#plan-tier", "starter").await?;
        screenshot(&c, &shots(), "downgraded").await?;
        Ok((asked_up, kept, up, up_said, asked_down, down))
    })
    .await;
    assert_eq!(
        asked_up,
        "Upgrade from pro to enterprise? Polo charges the prorated difference now."
    );
    assert_eq!(kept, "pro", "declining the confirmation changes nothing");
    assert_eq!(up, "enterprise");
    assert_eq!(
        up_said.0,
        "Your plan is now enterprise. Polo bills the difference as described on your invoice."
    );
    assert_eq!(
        asked_down,
        "Downgrade from enterprise to starter? The difference is credited on your next invoice."
    );
    assert_eq!(down, "starter");
    assert_eq!(local.status(&token).await["planTier"], "starter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_at_period_end_in_the_portal_and_coming_back_shows_access_until_the_period_end()
{
    let local = support::start_local().await;
    let token = local.token("acct_panel_cancel").await;
    local.buy(&token, "pro").await;
    let app = local.app.clone();
    let walk = |c: Client| {
        let local = &local;
        async move {
            open_panel(&c, &app, "acct_panel_cancel").await?;
            click(&c, "#portal").await?;
            click(&c, "button[id^='cancel-']").await?;
            element(&c, "#back").await?;
            screenshot(&c, &shots(), "portal-after-cancel").await?;
            local.settle().await;
            click(&c, "#back").await?;
            element(&c, "body[data-loaded='true']").await?;
            let account = text(&c, "#account").await?;
            let cancels = text_once(&c, "#cancel-at-period-end", "yes").await?;
            let label = text(&c, "#renews-label").await?;
            let until = element(&c, "#renews-at")
                .await?
                .attr("data-at")
                .await?
                .unwrap_or_default();
            let note = text(&c, "#state-note").await?;
            screenshot(&c, &shots(), "canceled-at-period-end").await?;
            Ok((account, cancels, label, until, note))
        }
    };
    let (account, cancels, label, until, note) = in_browser(walk).await;
    let status = local.status(&token).await;
    assert_eq!(
        account, "acct_panel_cancel",
        "the portal returns to its account"
    );
    assert_eq!((cancels.as_str(), label.as_str()), ("yes", "Access until"));
    assert_eq!(
        until,
        status["premiumExpiresAt"].as_str().unwrap_or("missing")
    );
    assert!(note.starts_with("Your plan ends on "), "{note}");
    assert_eq!(status["billingStatus"], "active");
}
