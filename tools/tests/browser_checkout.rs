//! A real browser checkout: headless Debian Chromium, driven over WebDriver
//! (chromedriver + fantoccini), opens the checkout URL the API returned,
//! clicks Pay on the sandbox's hosted page, lands on the success URL and
//! sees the page's `status` call report the new plan. The screenshots are
//! kept under `/test-artifacts/`. No browser is a failure, never a skip
//! (`scripts/test.sh` installs it through `scripts/install-browser.sh`).
//! The billing panel's own walk is `browser_panel.rs`.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::Browser;
use fantoccini::Locator;
use std::path::PathBuf;
use std::time::Duration;

fn artifacts() -> PathBuf {
    browser::artifacts("")
}

async fn session() -> (Browser, fantoccini::Client) {
    let b = Browser::start().await;
    let client = b.client.clone();
    (b, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_pays_on_the_hosted_page_and_lands_on_the_success_page_showing_the_new_plan() {
    let local = support::start_local().await;
    let token = local.token("acct_browser").await;
    let checkout = local.checkout(&token, "pro").await;
    let checkout_url = checkout["url"].as_str().expect("a checkout url").to_owned();
    let checkout_id = checkout["checkoutId"].as_str().expect("an id").to_owned();

    let (session, browser) = session().await;

    let outcome = async {
        browser.goto(&checkout_url).await?;
        let pay = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("#pay"))
            .await?;
        let price = browser.find(Locator::Css("#price")).await?.text().await?;
        std::fs::write(
            artifacts().join("browser-checkout-page.png"),
            browser.screenshot().await?,
        )
        .ok();
        pay.click().await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        let landed = browser.current_url().await?;
        let plan = browser
            .find(Locator::Css("#plan-tier"))
            .await?
            .text()
            .await?;
        let status = browser
            .find(Locator::Css("#billing-status"))
            .await?
            .text()
            .await?;
        let checkout_status = browser
            .find(Locator::Css("#checkout-status"))
            .await?
            .text()
            .await?;
        std::fs::write(
            artifacts().join("browser-checkout-success.png"),
            browser.screenshot().await?,
        )
        .ok();
        Ok::<_, fantoccini::error::CmdError>((price, landed, plan, status, checkout_status))
    }
    .await;
    session.finish().await;
    let (price, landed, plan, status, checkout_status) =
        outcome.expect("the browser walked the checkout");

    assert_eq!(price, "29.00 USD / month");
    assert_eq!(
        landed.as_str(),
        format!("{}/billing?checkout_id={checkout_id}", local.app)
    );
    assert_eq!(
        (plan.as_str(), status.as_str(), checkout_status.as_str()),
        ("pro", "active", "succeeded")
    );
    assert!(
        artifacts().join("browser-checkout-success.png").exists(),
        "the screenshot is kept"
    );
    local.settle().await;
    assert_eq!(local.credentials("acct_browser").await["entitled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_subscribes_from_the_billing_page_and_comes_back_upgraded() {
    let local = support::start_local().await;
    let (session, browser) = session().await;
    let outcome = async {
        browser
            .goto(&format!("{}/billing?account=acct_browser_page", local.app))
            .await?;
        let wait = || browser.wait().at_most(Duration::from_secs(20));
        wait()
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        let before = browser
            .find(Locator::Css("#plan-tier"))
            .await?
            .text()
            .await?;
        browser
            .find(Locator::Css("button[data-plan='starter']"))
            .await?
            .click()
            .await?;
        wait()
            .for_element(Locator::Css("#pay"))
            .await?
            .click()
            .await?;
        wait()
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        let after = browser
            .find(Locator::Css("#plan-tier"))
            .await?
            .text()
            .await?;
        let account = browser.find(Locator::Css("#account")).await?.text().await?;
        std::fs::write(
            artifacts().join("browser-billing-page-upgraded.png"),
            browser.screenshot().await?,
        )
        .ok();
        Ok::<_, fantoccini::error::CmdError>((before, after, account))
    }
    .await;
    session.finish().await;
    let (before, after, account) = outcome.expect("the browser subscribed from the billing page");
    assert_eq!((before.as_str(), after.as_str()), ("free", "starter"));
    assert_eq!(
        account, "acct_browser_page",
        "the success page signs in as the checkout's account"
    );
}
