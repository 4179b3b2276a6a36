//! A real browser checkout: headless Debian Chromium, driven over WebDriver
//! (chromedriver + fantoccini), opens the checkout URL the API returned,
//! clicks Pay on the sandbox's hosted page, lands on the success URL and
//! sees the page's `status` call report the new plan. The screenshots are
//! kept under `/test-artifacts/`. No browser is a failure, never a skip
//! (`scripts/test.sh` installs it through `scripts/install-browser.sh`).

mod support;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-artifacts");
    std::fs::create_dir_all(&dir).expect("test-artifacts/ can be created");
    dir
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a free port");
    listener.local_addr().expect("an address").port()
}

/// chromedriver on a free loopback port, ready to take sessions.
async fn chromedriver() -> (tokio::process::Child, String) {
    let port = free_port();
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        let ready = reqwest::get(format!("{url}/status")).await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return (child, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url} within 10 s");
}

/// A fresh headless Chromium session (its own profile directory).
async fn session() -> (tokio::process::Child, fantoccini::Client, PathBuf) {
    for binary in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing: the browser test needs Debian's chromium and chromium-driver (bash scripts/install-browser.sh)"
        );
    }
    let (driver, driver_url) = chromedriver().await;
    let profile =
        std::env::temp_dir().join(format!("polo-billing-chromium-{}", std::process::id()));
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,900",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .expect("a Chromium session");

    (driver, browser, profile)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_pays_on_the_hosted_page_and_lands_on_the_success_page_showing_the_new_plan() {
    let local = support::start_local().await;
    let token = local.token("acct_browser").await;
    let checkout = local.checkout(&token, "pro").await;
    let checkout_url = checkout["url"].as_str().expect("a checkout url").to_owned();
    let checkout_id = checkout["checkoutId"].as_str().expect("an id").to_owned();

    let (mut driver, browser, profile) = session().await;

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
    let _ = browser.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
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
    let (mut driver, browser, profile) = session().await;
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
    let _ = browser.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    let (before, after, account) = outcome.expect("the browser subscribed from the billing page");
    assert_eq!((before.as_str(), after.as_str()), ("free", "starter"));
    assert_eq!(
        account, "acct_browser_page",
        "the success page signs in as the checkout's account"
    );
}
