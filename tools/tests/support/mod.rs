//! The local stack as the end-to-end tests drive it: started in-process on
//! free loopback ports (the same `start()` the `local` binary runs), then
//! spoken to only over real HTTP — the app's API with a dev token, the
//! sandbox's hosted pages and admin API.

#![allow(dead_code)]

pub mod receiver;

use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;
use tools::local::assemble::{start, Running};
use tools::local::options::LocalOptions;
use tools::sandbox::dispatcher::RetrySchedule;

pub struct Local {
    pub app: String,
    pub sandbox: String,
    /// `None` when the stack runs in another process (the binary's test).
    pub running: Option<Running>,
    pub http: reqwest::Client,
}

/// Appends every JSON log line to `TEST_LOG_DIR/<test binary>.jsonl`, so
/// the test command's secret scan reads what the local stack logged.
struct LogFile;

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(dir) = std::env::var("TEST_LOG_DIR") {
            let name = std::env::current_exe()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "tools-test".into());
            let path = std::path::Path::new(&dir).join(format!("{name}.jsonl"));
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() {
    let subscriber = billing::telemetry::json_subscriber(|| LogFile, "debug");
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Starts the whole system with everything embedded, webhook retries fast.
pub async fn start_local() -> Local {
    capture_logs();
    let mut options = LocalOptions::embedded();
    options.port = 0;
    options.sandbox_port = 0;
    options.webhook_retry = RetrySchedule {
        first: Duration::from_millis(50),
        cap: Duration::from_millis(400),
        max_attempts: 10,
    };
    let running = start(options).await.expect("the local stack starts");
    let sandbox = running
        .sandbox
        .as_ref()
        .map(|s| s.public_url().to_owned())
        .expect("the sandbox runs in-process");
    Local {
        app: running.app_url.clone(),
        sandbox,
        running: Some(running),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client"),
    }
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl Local {
    /// A dev token (a new account is created on first use).
    pub async fn token(&self, sub: &str) -> String {
        let (status, body) = json_of(
            self.http
                .get(format!("{}/dev/token?sub={sub}", self.app))
                .send()
                .await
                .expect("token"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// One call to a dashboard route, as the dashboard makes it.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.app);
        let request = match method {
            "GET" => self.http.get(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.unwrap_or(json!({})).to_string()),
        };
        json_of(request.bearer_auth(token).send().await.expect("api call")).await
    }

    pub async fn status(&self, token: &str) -> Value {
        let (code, body) = self.api("GET", "/api/billing/status", token, None).await;
        assert_eq!(code, 200, "{body}");
        body
    }

    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let (status, body) = json_of(
            self.http
                .post(format!("{}{path}", self.sandbox))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("admin call"),
        )
        .await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        json_of(
            self.http
                .get(format!("{}{path}", self.sandbox))
                .send()
                .await
                .expect("admin"),
        )
        .await
        .1
    }

    /// Waits until every webhook delivery and retry has finished.
    pub async fn settle(&self) {
        let answer = self
            .admin("/admin/webhooks/settle", json!({"timeout_seconds": 30}))
            .await;
        assert_eq!(answer["settled"], true);
    }

    pub async fn dev_state(&self) -> Value {
        json_of(
            self.http
                .get(format!("{}/dev/state", self.app))
                .send()
                .await
                .expect("state"),
        )
        .await
        .1
    }

    /// The account's record in `/dev/state`.
    pub async fn account(&self, id: &str) -> Value {
        let state = self.dev_state().await;
        state["accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["accountId"] == id).cloned())
            .unwrap_or(Value::Null)
    }

    /// What the embedded orchestrator holds for the account.
    pub async fn credentials(&self, id: &str) -> Value {
        let state = self.dev_state().await;
        state["credentials"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["accountId"] == id).cloned())
            .unwrap_or(Value::Null)
    }

    pub async fn page(&self, url: &str) -> (u16, String) {
        let response = self.http.get(url).send().await.expect("page");
        (
            response.status().as_u16(),
            response.text().await.expect("html"),
        )
    }

    /// Posts a hosted page's form (urlencoded) and returns the status and
    /// the `location` it redirects to.
    pub async fn submit(&self, action: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .http
            .post(format!("{}{action}", self.sandbox))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("form post");
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (response.status().as_u16(), location)
    }

    /// Opens the hosted checkout page and clicks Pay (posts its form).
    pub async fn pay(&self, checkout_url: &str) -> (u16, String) {
        let (status, html) = self.page(checkout_url).await;
        assert_eq!(status, 200, "{html}");
        let action = form_action(&html, "/pay").expect("the page has a Pay form");
        let email = input_value(&html, "email").unwrap_or_default();
        self.submit(&action, &[("email", &email)]).await
    }

    /// Starts a checkout for `tier` through the app's route; its answer
    /// (`url`, `checkoutId`), which must be a 200.
    pub async fn checkout(&self, token: &str, tier: &str) -> Value {
        let (code, checkout) = self
            .api(
                "POST",
                "/api/billing/checkout",
                token,
                Some(json!({"planTier": tier})),
            )
            .await;
        assert_eq!(code, 200, "{checkout}");
        checkout
    }

    /// Buys `tier` through the app's checkout route and the hosted page,
    /// then waits for the webhooks.
    pub async fn buy(&self, token: &str, tier: &str) {
        let checkout = self.checkout(token, tier).await;
        let (code, _) = self
            .pay(checkout["url"].as_str().expect("a checkout url"))
            .await;
        assert_eq!(code, 303);
        self.settle().await;
    }

    /// Opens the portal page and submits one subscription action form.
    pub async fn portal_action(&self, portal_url: &str, action: &str) -> (u16, String) {
        let (status, html) = self.page(portal_url).await;
        assert_eq!(status, 200, "{html}");
        let form = html
            .split("<form")
            .find(|f| f.contains(&format!("name=\"action\" value=\"{action}\"")))
            .unwrap_or_else(|| panic!("the portal offers {action}: {html}"));
        let token = input_value(form, "token").expect("token field");
        let subscription = input_value(form, "subscription_id").expect("subscription field");
        self.submit(
            "/portal/action",
            &[
                ("token", &token),
                ("subscription_id", &subscription),
                ("action", action),
            ],
        )
        .await
    }
}

/// The `action` of the first form whose action ends with `suffix`.
pub fn form_action(html: &str, suffix: &str) -> Option<String> {
    html.split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|action| action.ends_with(suffix))
        .map(str::to_owned)
}

/// The `value` of the input named `name`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[start..];
    let value = rest.split("value=\"").nth(1)?.split('"').next()?;
    Some(value.replace("&quot;", "\"").replace("&amp;", "&"))
}

/// A sandbox on its own (no local server), webhooks to `target`.
pub async fn sandbox(
    target: Option<url::Url>,
    retry: RetrySchedule,
    hang: Duration,
) -> (std::sync::Arc<tools::sandbox::Sandbox>, String) {
    capture_logs();
    let mut options = tools::sandbox::launch::SandboxOptions::local(target);
    options.retry = retry;
    options.hang = hang;
    let sandbox = tools::sandbox::launch::on_loopback(options)
        .await
        .expect("the sandbox starts");
    let base = sandbox.public_url().to_owned();
    (sandbox, base)
}

/// Creates a checkout through the API and pays it on the hosted page;
/// returns the checkout's JSON after payment.
pub async fn buy(base: &str, account: &str, product: &str) -> Value {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let created: Value = http
        .post(format!("{base}/v1/checkouts/"))
        .bearer_auth(tools::sandbox::LOCAL_API_KEY)
        .header("content-type", "application/json")
        .body(
            json!({
                "products": [product],
                "external_customer_id": account,
                "metadata": {"accountId": account},
                "success_url": "http://127.0.0.1:9/done?checkout_id={CHECKOUT_ID}",
            })
            .to_string(),
        )
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("checkout json");
    let url = created["url"].as_str().expect("url");
    let html = http
        .get(url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let action = form_action(&html, "/pay").expect("pay form");
    let paid = http
        .post(format!("{base}{action}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=buyer%40example.com")
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status().as_u16(), 303);
    let id = created["id"].as_str().expect("id");
    http.get(format!("{base}/v1/checkouts/{id}"))
        .bearer_auth(tools::sandbox::LOCAL_API_KEY)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// Pays an existing checkout on its hosted page; returns the HTTP status.
pub async fn buy_existing(base: &str, checkout_url: &str) -> u16 {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let html = http
        .get(checkout_url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let action = form_action(&html, "/pay").expect("pay form");
    http.post(format!("{base}{action}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=buyer%40example.com")
        .send()
        .await
        .expect("pay")
        .status()
        .as_u16()
}

/// The sandbox subscription of an account (its customer's external id).
pub fn subscription_of(sandbox: &tools::sandbox::Sandbox, account: &str) -> String {
    sandbox.with_state(|state, _| {
        let customer = state
            .customers
            .values()
            .find(|c| c.external_id.as_deref() == Some(account))
            .map(|c| c.id.clone())
            .expect("the account's customer");
        state
            .subscriptions
            .values()
            .find(|s| s.customer_id == customer)
            .map(|s| s.id.clone())
            .expect("the account's subscription")
    })
}
