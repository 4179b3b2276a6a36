//! The README's run command as a new user meets it: the real `local`
//! binary, its printed walkthrough followed to the end — the token it
//! prints, the curl calls it shows, the hosted pages, and the real
//! `polo-sandbox` CLI for the clock, renewals and replays.

mod support;

use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

struct Walkthrough {
    app: String,
    sandbox: String,
    token: String,
}

/// The value after `marker` on the printed line that holds it.
fn after(text: &str, marker: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.trim()))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
}

fn log_path() -> Option<std::path::PathBuf> {
    std::env::var("TEST_LOG_DIR")
        .ok()
        .map(|d| std::path::Path::new(&d).join("local-binary.log"))
}

/// Where the server writes its JSON logs (the secret scan reads it there).
fn json_log_path() -> std::path::PathBuf {
    let dir = std::env::var("TEST_LOG_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    std::path::Path::new(&dir).join(format!("local-binary-{}.jsonl", std::process::id()))
}

async fn start() -> (tokio::process::Child, Walkthrough, Arc<Mutex<String>>) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_local"));
    command
        .args(["--port", "0", "--sandbox-port", "0", "--log-file"])
        .arg(json_log_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for var in [
        "POLO_API_BASE_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "CONVEX_SITE_URL",
        "PROVISIONING_URL",
        "APP_BASE_URL",
        "PORT",
        "SANDBOX_PORT",
    ] {
        command.env_remove(var);
    }
    let mut child = command.spawn().expect("the local binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let printed = Arc::new(Mutex::new(String::new()));
    let sink = printed.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(path) = log_path() {
                use std::io::Write;
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    let _ = writeln!(f, "{line}");
                }
            }
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    for _ in 0..600 {
        let text = printed.lock().unwrap().clone();
        if text.contains("Faults for retry drills") {
            let walkthrough = Walkthrough {
                app: after(&text, "app + API").expect("the app URL is printed"),
                sandbox: after(&text, "export POLO_SANDBOX_URL=")
                    .expect("the sandbox URL is printed"),
                token: after(&text, "export TOKEN=").expect("a ready token is printed"),
            };
            return (child, walkthrough, printed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no walkthrough printed within 60 s: {}",
        printed.lock().unwrap()
    );
}

/// Runs the `polo-sandbox` CLI the way the walkthrough shows: what it printed.
async fn cli_output(sandbox: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_polo-sandbox"))
        .args(args)
        .env("POLO_SANDBOX_URL", sandbox)
        .output()
        .await
        .expect("polo-sandbox runs");
    assert!(
        output.status.success(),
        "polo-sandbox {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An admin command's JSON answer.
async fn cli(sandbox: &str, args: &[&str]) -> Value {
    serde_json::from_str(&cli_output(sandbox, args).await).expect("the CLI prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_run_command_and_its_printed_walkthrough_work_to_the_end() {
    let (mut child, w, printed) = start().await;
    let text = printed.lock().unwrap().clone();
    for step in [
        "1. Start a checkout",
        "4. A failed renewal",
        "7. Replays change nothing",
        "/dev/credentials",
    ] {
        assert!(text.contains(step), "the walkthrough shows {step}");
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{}{path}", w.app))
            .bearer_auth(&w.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        request.send()
    };
    let status = || async {
        api(reqwest::Method::GET, "/api/billing/status", None)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };

    // 1-2: checkout, Pay on the hosted page, the success page, status.
    let checkout: Value = api(
        reqwest::Method::POST,
        "/api/billing/checkout",
        Some(json!({"planTier": "pro"})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(checkout["ok"], true, "{checkout}");
    // The terminal shows one line per request; the JSON logs are in the file.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let terminal = printed.lock().unwrap().clone();
    let line = terminal
        .lines()
        .find(|l| l.contains("POST /api/billing/checkout"))
        .unwrap_or_else(|| panic!("no request line: {terminal}"));
    assert!(
        line.contains(" 200 ") && line.contains("acct_local_1") && line.ends_with(" ms"),
        "{line}"
    );
    assert!(!terminal.contains("\"level\""), "JSON logs on the terminal");
    let json_logs = std::fs::read_to_string(json_log_path()).unwrap_or_default();
    assert!(
        json_logs.lines().any(|l| l.starts_with('{')),
        "no JSON log lines in the file"
    );
    let url = checkout["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/checkout/polo_c_", w.sandbox)));
    assert_eq!(support::buy_existing(&w.sandbox, url).await, 303);
    let id = checkout["checkoutId"].as_str().unwrap();
    let success = http
        .get(format!("{}/billing?checkout_id={id}", w.app))
        .send()
        .await
        .unwrap();
    assert_eq!(success.status().as_u16(), 200);
    let confirmed: Value = api(
        reqwest::Method::GET,
        &format!("/api/billing/status?checkout_id={id}"),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            confirmed["planTier"].clone(),
            confirmed["billingStatus"].clone()
        ),
        (json!("pro"), json!("active"))
    );
    cli(&w.sandbox, &["settle"]).await;
    // ...and one line per state change: the account's, its credentials'.
    let changed = |l: &str| l.contains(" STATE acct_local_1 ") && l.contains("plan free→pro");
    let entitled = |l: &str| l.contains(" STATE acct_local_1 ") && l.contains("access no→yes");
    let issued = |l: &str| {
        l.contains(" CREDS acct_local_1 ") && l.contains("credentials issued (pro, until ")
    };
    let mut terminal = String::new();
    for _ in 0..50 {
        terminal = printed.lock().unwrap().clone();
        if [changed, entitled, issued]
            .iter()
            .all(|wanted| terminal.lines().any(wanted))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(terminal.lines().any(changed), "no state line: {terminal}");
    assert!(terminal.lines().any(entitled), "no access line: {terminal}");
    assert!(
        terminal.lines().any(issued),
        "no credentials line: {terminal}"
    );
    assert!(
        !terminal.contains('\x1b'),
        "no colour when stdout is not a terminal: {terminal}"
    );

    // 3: the orchestrator's page shows the credentials issued.
    let page = http
        .get(format!("{}/dev/credentials", w.app))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<td>acct_local_1</td><td class="issued">issued</td>"#),
        "{page}"
    );
    // Its dates are RFC 3339, like every /dev/* date.
    let row = page
        .split(r#"<tr data-account="acct_local_1">"#)
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default();
    let until = row
        .split("<td>")
        .nth(4)
        .and_then(|c| c.split("</td>").next());
    let until = until.unwrap_or_default();
    assert!(
        time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339).is_ok(),
        "access until: {until:?} in {row}"
    );

    // 4: a failed renewal a month later.
    cli(&w.sandbox, &["fail-renewal"]).await;
    let moved = cli(&w.sandbox, &["advance", "31d"]).await;
    assert_eq!(moved["events"].as_array().map(Vec::len), Some(1), "{moved}");
    cli(&w.sandbox, &["settle"]).await;
    let past_due = status().await;
    assert_eq!(
        (
            past_due["billingStatus"].clone(),
            past_due["entitled"].clone()
        ),
        (json!("past_due"), json!(false))
    );
    let page = http
        .get(format!("{}/dev/credentials", w.app))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<td>acct_local_1</td><td class="revoked">revoked</td>"#));

    // 5: Pay now, then Cancel at period end, in the portal.
    let portal: Value = api(reqwest::Method::POST, "/api/billing/portal", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let portal_url = portal["url"].as_str().unwrap().to_owned();
    let local = support::Local {
        app: w.app.clone(),
        sandbox: w.sandbox.clone(),
        running: None,
        http: http.clone(),
    };
    assert_eq!(local.portal_action(&portal_url, "recover").await.0, 303);
    assert_eq!(local.portal_action(&portal_url, "cancel").await.0, 303);
    cli(&w.sandbox, &["settle"]).await;
    let canceling = status().await;
    assert_eq!(
        (
            canceling["entitled"].clone(),
            canceling["cancelAtPeriodEnd"].clone()
        ),
        (json!(true), json!(true))
    );

    // 6: the period ends.
    cli(&w.sandbox, &["advance", "31d"]).await;
    cli(&w.sandbox, &["settle"]).await;
    let ended = status().await;
    assert_eq!(
        (ended["billingStatus"].clone(), ended["planTier"].clone()),
        (json!("canceled"), json!("free"))
    );

    // 7: replays change nothing.
    let before: Value = http
        .get(format!("{}/dev/state", w.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = cli(&w.sandbox, &["events"]).await;
    let ids: Vec<String> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    // deliver and redeliver wait for their deliveries and print each answer.
    let redelivered = cli_output(&w.sandbox, &["redeliver", &ids[0]]).await;
    assert!(
        redelivered.starts_with(&ids[0]) && redelivered.contains(": HTTP 200"),
        "{redelivered}"
    );
    let mut reversed: Vec<&str> = vec!["deliver"];
    reversed.extend(ids.iter().rev().map(String::as_str));
    reversed.push("--fresh-id");
    let delivered = cli_output(&w.sandbox, &reversed).await;
    let lines: Vec<&str> = delivered.lines().collect();
    assert_eq!(lines.len(), ids.len(), "{delivered}");
    for (line, id) in lines.iter().zip(ids.iter().rev()) {
        assert!(
            line.starts_with(id.as_str()) && line.ends_with(": HTTP 200"),
            "{line}"
        );
    }
    cli(&w.sandbox, &["settle"]).await;
    let after: Value = http
        .get(format!("{}/dev/state", w.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["accounts"], after["accounts"]);
    assert_eq!(before["audit"], after["audit"]);
    assert_eq!(before["credentials"], after["credentials"]);
    child.kill().await.expect("the local server stops");
}
