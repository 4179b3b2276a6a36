//! The bad-input corpus through the RELEASE binaries, as Lambda runs them
//! (the Runtime API emulator), over the idempotency table on moto, the
//! Convex stand-in, the orchestrator and Polo's stand-in. Each case of
//! `corpus/cases.rs` must get its named answer; none may change the account
//! or its credentials; an unsigned or oversized one must leave no record;
//! the process must survive every one; and no secret may reach the log.
//! docs/RELIABILITY.md "The bad-input corpus" lists the table.

mod corpus;
mod support;

use corpus::{cases, Case, Delivery, Expect};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::*;
use tools::local::LOCAL_WEBHOOK_SECRET;
use tools::runtime_api::{Outcome, RuntimeApi};

const ACCOUNT: &str = "acct_local_1";

/// The release build of `name` (scripts/test.sh builds it first).
fn release_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("release").join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build --release -p functions --bin {name}` \
         (scripts/test.sh does, before the tests)",
        path.display()
    );
    path
}

fn shipped_body(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../events/{name}.json"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let raw = event["body"].as_str().unwrap();
    if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap()
    } else {
        raw.as_bytes().to_vec()
    }
}

fn got(outcome: Outcome) -> (Expect, String) {
    match outcome {
        Outcome::Response(response) => {
            let status = response["statusCode"].as_u64().unwrap_or_default();
            let text = response["body"].as_str().unwrap_or_default().to_owned();
            let body: Value = serde_json::from_str(&text).unwrap_or_default();
            let label = match (body["status"].as_str(), body["error"].as_str()) {
                (Some("parked"), _) => format!("parked:{}", body["reason"].as_str().unwrap_or("")),
                (Some(status), _) => status.to_owned(),
                (None, Some(error)) => error.to_owned(),
                (None, None) => text.clone(),
            };
            // Leaked so the label compares with the table's &'static str.
            (
                Expect::Answer(status, Box::leak(label.into_boxed_str())),
                text,
            )
        }
        Outcome::Error(error) => (Expect::Refused, error),
    }
}

async fn records(table: &str) -> i32 {
    tools::moto::dynamodb_client(&moto_endpoint())
        .scan()
        .table_name(table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("the emulator scans the table")
        .count()
}

struct Run {
    rows: Vec<String>,
    failures: Vec<String>,
}

/// Runs `cases` through one process of the release binary `name`, after a
/// control delivery that must change the account (so "nothing changed"
/// below can fail).
async fn run(
    run: &mut Run,
    name: &str,
    table: &str,
    down: &Downstream,
    control: &[u8],
    cases: Vec<Case>,
) {
    let api = RuntimeApi::start().await.unwrap();
    let mut child = spawn(
        release_binary(name),
        &format!("corpus-{name}"),
        &api,
        table,
        down,
    );
    let account_id = billing::domain::AccountId::parse(ACCOUNT).unwrap();
    let before_control = down.accounts.account(&account_id);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = format!("/api/billing/polo/{}", name.trim_start_matches("webhook-"));
    let control = Delivery::signed(
        &path,
        &format!("msg_corpus_control_{name}"),
        control,
        LOCAL_WEBHOOK_SECRET,
        now,
    );
    let (answer, text) = got(api
        .invoke(&control.event(), Duration::from_secs(20))
        .await
        .unwrap());
    assert_eq!(
        answer,
        Expect::Answer(200, "processed"),
        "{name} control: {text}"
    );
    let account = down.accounts.account(&account_id);
    assert_ne!(
        account, before_control,
        "{name}: the control delivery changed the account"
    );
    let decision = down.orchestrator.decision(&account_id);
    let mut count = records(table).await;

    for case in cases {
        let outcome = api.invoke(&case.event, Duration::from_secs(30)).await;
        let (answer, text) = match outcome {
            Ok(outcome) => got(outcome),
            Err(error) => (Expect::Refused, format!("no answer: {error}")),
        };
        let shown = match &answer {
            Expect::Answer(status, label) => format!("{status} {label}"),
            Expect::Refused => "invocation error".to_owned(),
        };
        run.rows.push(format!("| `{}` | {shown} |", case.name));
        if answer != case.expect {
            run.failures.push(format!(
                "{}: expected {:?}, got {shown} ({})",
                case.name,
                case.expect,
                text.chars().take(300).collect::<String>()
            ));
        }
        if down.accounts.account(&account_id) != account {
            run.failures
                .push(format!("{}: changed the account", case.name));
        }
        if down.orchestrator.decision(&account_id) != decision {
            run.failures
                .push(format!("{}: changed the credentials", case.name));
        }
        let now_count = records(table).await;
        if !case.signed && now_count != count {
            run.failures.push(format!(
                "{}: left a record without a valid signature",
                case.name
            ));
        }
        count = now_count;
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} died on {}: {status}", case.name);
        }
    }
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_named_answer_from_the_release_binaries_and_changes_nothing() {
    let table = fresh_table().await;
    let down = downstream().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + 5;
    let mut result = Run {
        rows: Vec::new(),
        failures: Vec::new(),
    };

    // subscription.* at its endpoint: the control is the shipped event; the
    // harmless body is an older snapshot of the same subscription (stale).
    let shipped = shipped_body("webhook-subscription-updated");
    let order_paid = shipped_body("webhook-payment-succeeded");
    let base: Value = serde_json::from_slice(&shipped).unwrap();
    let older = corpus::edit(
        &base,
        "/data/modified_at",
        Some("2026-11-21T10:00:00Z".into()),
    );
    let path = "/api/billing/polo/subscription-updated";
    let mut cases = cases::transport(
        "subscription-updated",
        path,
        LOCAL_WEBHOOK_SECRET,
        now,
        &older,
        Expect::Answer(200, "stale"),
    );
    cases.extend(cases::subscription(
        "subscription-updated",
        path,
        LOCAL_WEBHOOK_SECRET,
        now,
        &base,
        &order_paid,
    ));
    run(
        &mut result,
        "webhook-subscription-updated",
        &table,
        &down,
        &shipped,
        cases,
    )
    .await;

    // order.paid at payment-succeeded: the control is the shipped order; the
    // harmless body is the same order again under another delivery id (its
    // subscription, re-read from Polo, is what the account already holds).
    let shipped = shipped_body("webhook-payment-succeeded");
    let base: Value = serde_json::from_slice(&shipped).unwrap();
    let path = "/api/billing/polo/payment-succeeded";
    let mut cases = cases::transport(
        "payment-succeeded",
        path,
        LOCAL_WEBHOOK_SECRET,
        now,
        &shipped,
        Expect::Answer(200, "processed"),
    );
    cases.extend(cases::order(
        "payment-succeeded",
        path,
        LOCAL_WEBHOOK_SECRET,
        now,
        &base,
        &shipped_body("webhook-subscription-updated"),
    ));
    run(
        &mut result,
        "webhook-payment-succeeded",
        &table,
        &down,
        &shipped,
        cases,
    )
    .await;

    if std::env::var_os("CORPUS_TABLE").is_some() {
        println!("{}", result.rows.join("\n"));
    }
    // docs/BAD_INPUT_CORPUS.md is this run's table, row for row.
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/BAD_INPUT_CORPUS.md"),
    )
    .unwrap();
    let documented: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        documented,
        result.rows.iter().map(String::as_str).collect::<Vec<_>>(),
        "docs/BAD_INPUT_CORPUS.md is not this corpus's table: rerun with CORPUS_TABLE=1 and paste it"
    );
    assert!(
        result.rows.len() >= 80,
        "{} cases: the corpus holds at least 80",
        result.rows.len()
    );
    assert!(
        result.failures.is_empty(),
        "{} of {} cases failed:\n{}",
        result.failures.len(),
        result.rows.len(),
        result.failures.join("\n")
    );

    // Every value a forger or the functions hold, absent from every log line.
    let dir = std::env::var("TEST_LOG_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let mut lines = 0;
    for name in ["webhook-subscription-updated", "webhook-payment-succeeded"] {
        let log = std::fs::read_to_string(
            PathBuf::from(&dir).join(format!("binary-corpus-{name}.jsonl")),
        )
        .expect("the binary's log");
        for line in log.lines() {
            lines += 1;
            for secret in [
                LOCAL_WEBHOOK_SECRET,
                LOCAL_WEBHOOK_SECRET.trim_start_matches("whsec_"),
                corpus::WRONG_KEY,
                CONVEX_SECRET,
                PROVISIONING_SECRET,
                POLO_KEY,
            ] {
                assert!(!line.contains(secret), "a secret in {name}'s log: {line}");
            }
        }
    }
    assert!(
        lines > result.rows.len(),
        "every case left at least one log line ({lines})"
    );
}
