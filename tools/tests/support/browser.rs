//! A real browser for the tests: headless Debian Chromium driven over
//! WebDriver (chromedriver + fantoccini), each session with its own
//! profile. No browser is a failure, never a skip (`scripts/test.sh`
//! installs it through `scripts/install-browser.sh`). Screenshots go to
//! `test-artifacts/` at the repository root. The billing panel's own
//! helpers (open it, read its message, click) are at the end.

#![allow(dead_code)]

use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any one thing the tests wait for may take before it is a failure.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `test-artifacts/<sub>` at the repository root, created.
pub fn artifacts(sub: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-artifacts")
        .join(sub);
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

/// One headless Chromium session and what it runs on.
pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    profile: PathBuf,
}

impl Browser {
    /// A fresh session (its own profile directory).
    pub async fn start() -> Self {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: the browser tests need Debian's chromium and chromium-driver (bash scripts/install-browser.sh)"
            );
        }
        let (driver, driver_url) = chromedriver().await;
        let profile = std::env::temp_dir().join(format!(
            "polo-billing-chromium-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
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
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .expect("a Chromium session");
        Self {
            client,
            driver,
            profile,
        }
    }

    /// Ends the session, the driver and the profile.
    pub async fn finish(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The element `css` matches, once there (or the wait's error).
pub async fn element(
    client: &Client,
    css: &str,
) -> Result<fantoccini::elements::Element, fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
}

/// The visible text of `css` once it contains `want`; after [`PATIENCE`],
/// whatever it says then (the caller's assertion shows the difference).
pub async fn text_once(
    client: &Client,
    css: &str,
    want: &str,
) -> Result<String, fantoccini::error::CmdError> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = match client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(want) || tokio::time::Instant::now() > deadline {
            return Ok(text);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of `css` now.
pub async fn text(client: &Client, css: &str) -> Result<String, fantoccini::error::CmdError> {
    client.find(Locator::Css(css)).await?.text().await
}

/// Saves the page as `<dir>/<name>.png`, returning the path.
pub async fn screenshot(
    client: &Client,
    dir: &Path,
    name: &str,
) -> Result<PathBuf, fantoccini::error::CmdError> {
    let path = dir.join(format!("{name}.png"));
    let png = client.screenshot().await?;
    std::fs::write(&path, png).expect("the screenshot is written");
    Ok(path)
}

/// Where the billing panel's screenshots go.
pub fn shots() -> PathBuf {
    artifacts("billing-panel")
}

/// Runs `walk` in a fresh browser, always ending the session.
pub async fn in_browser<T, F>(walk: impl FnOnce(Client) -> F) -> T
where
    F: std::future::Future<Output = Result<T, CmdError>>,
{
    let session = Browser::start().await;
    let outcome = walk(session.client.clone()).await;
    session.finish().await;
    outcome.expect("the browser walked the panel")
}

/// Opens the panel signed in as `account` and waits for its first status.
pub async fn open_panel(client: &Client, app: &str, account: &str) -> Result<(), CmdError> {
    client
        .goto(&format!("{app}/billing?account={account}"))
        .await?;
    element(client, "body[data-loaded='true']").await?;
    Ok(())
}

/// The message the panel shows and the code it carries.
pub async fn message(client: &Client, want: &str) -> Result<(String, String), CmdError> {
    let said = text_once(client, "#message", want).await?;
    let code = client
        .find(Locator::Css("#message"))
        .await?
        .attr("data-code")
        .await?
        .unwrap_or_default();
    Ok((said, code))
}

pub async fn click(client: &Client, css: &str) -> Result<(), CmdError> {
    element(client, css).await?.click().await
}
