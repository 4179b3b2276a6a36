//! Cold-start harness: starts a compiled function binary behind the Lambda
//! Runtime API emulator — stores on the DynamoDB emulator, accounts on the
//! Convex stand-in, secrets from the environment — hands it real signed
//! events, and reports init (spawn → first `/next`), spawn → first answer,
//! warm p50/p99, CPU per warm event and peak RSS, beside the trivial
//! `lambda_http` baseline measured in the same run.
//!
//! Cold starts are repeated (default 15 of each, interleaved) and reported
//! as medians, so one noisy start on a shared machine does not decide a
//! figure; the warm figures come from one long run of each.
//!
//! usage: coldstart <target/release dir> [warm events, default 200] [cold starts, default 15]
//! needs MOTO_ENDPOINT (scripts/coldstart.sh starts moto and builds).

use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId};
use billing::provisioning::InMemoryProvisioner;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tools::convex_stub::ConvexStub;
use tools::local::{LOCAL_PRODUCTS, LOCAL_WEBHOOK_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;
use tools::runtime_api::{Outcome, RuntimeApi};

const CONVEX_SECRET: &str = "whsec_Y29sZHN0YXJ0LWNvbnZleC1zZWNyZXQ=";
const PROVISIONING_SECRET: &str = "whsec_Y29sZHN0YXJ0LXByb3Zpc2lvbmluZy1zZWNyZXQ=";

struct Figures {
    init_ms: f64,
    first_answer_ms: f64,
    warm_p50_ms: f64,
    warm_p99_ms: f64,
    cpu_per_warm_event_ms: f64,
    peak_rss_kib: u64,
}

fn proc_cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat (1-based),
    // i.e. 11 and 12 after the ")" that ends the command name.
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks * 1000.0 / 100.0
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn table(moto: &str) -> String {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "coldstart",
        ))
        .endpoint_url(moto)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let name = format!("coldstart-{}", std::process::id());
    use aws_sdk_dynamodb::types::*;
    let _ = client
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("valid"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("valid"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    name
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    url
}

async fn measure(binary: &Path, env: &[(String, String)], events: &[String]) -> Figures {
    let api = RuntimeApi::start().await.expect("the emulator starts");
    let spawned = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", api.runtime_api_env())
        .env("AWS_LAMBDA_FUNCTION_NAME", "coldstart")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let pid = child.id().expect("a pid");
    let first = api
        .invoke(&events[0], Duration::from_secs(10))
        .await
        .expect("a first answer");
    let first_answer = spawned.elapsed();
    assert!(
        matches!(first, Outcome::Response(ref r) if r["statusCode"] == 200),
        "first answer: {first:?}"
    );
    let init = api.first_poll().expect("it polled") - spawned;
    let cpu_before = proc_cpu_ms(pid);
    let mut warm = Vec::new();
    for event in &events[1..] {
        let started = Instant::now();
        let outcome = api
            .invoke(event, Duration::from_secs(10))
            .await
            .expect("an answer");
        warm.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(
            matches!(outcome, Outcome::Response(ref r) if r["statusCode"] == 200),
            "{outcome:?}"
        );
    }
    let cpu = proc_cpu_ms(pid) - cpu_before;
    let rss = peak_rss_kib(pid);
    let _ = child.kill().await;
    warm.sort_by(f64::total_cmp);
    Figures {
        init_ms: init.as_secs_f64() * 1000.0,
        first_answer_ms: first_answer.as_secs_f64() * 1000.0,
        warm_p50_ms: percentile(&warm, 0.5),
        warm_p99_ms: percentile(&warm, 0.99),
        cpu_per_warm_event_ms: cpu / warm.len() as f64,
        peak_rss_kib: rss,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = PathBuf::from(
        args.first()
            .ok_or("usage: coldstart <target/release dir> [warm events]")?,
    );
    let warm: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(200);
    let cold_runs: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(15);
    let moto = std::env::var("MOTO_ENDPOINT")
        .map_err(|_| "MOTO_ENDPOINT is not set (scripts/coldstart.sh starts moto)")?;

    let accounts = Arc::new(InMemoryAccountStore::default());
    accounts.insert(AccountBilling::new(AccountId::parse("acct_local_1")?));
    let convex = serve(Arc::new(ConvexStub::new(accounts, CONVEX_SECRET)?).router()).await;
    let receiver = Arc::new(ProvisioningReceiver::new(
        Arc::new(InMemoryProvisioner::default()),
        PROVISIONING_SECRET,
    )?);
    let provisioning = format!("{}/", serve(receiver.router()).await);
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    let env: Vec<(String, String)> = [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.clone()),
        ("STAGE", "local".to_owned()),
        ("POLO_ENVIRONMENT", "sandbox".to_owned()),
        ("IDEMPOTENCY_TABLE", table(&moto).await),
        (
            "POLO_WEBHOOK_SECRETS",
            format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#),
        ),
        ("CONVEX_SIGNING_SECRET", CONVEX_SECRET.to_owned()),
        (
            "PROVISIONING_SIGNING_SECRET",
            PROVISIONING_SECRET.to_owned(),
        ),
        ("CONVEX_SITE_URL", convex),
        ("PROVISIONING_URL", provisioning),
        ("POLO_PLAN_ID_STARTER", starter.to_owned()),
        ("POLO_PLAN_ID_PRO", pro.to_owned()),
        ("POLO_PLAN_ID_ENTERPRISE", enterprise.to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let events_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let shipped = std::fs::read_to_string(events_dir.join("webhook-subscription-updated.json"))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Every event a new delivery id: each one is a real claim, not a duplicate.
    let events = |tag: &str, count: usize| -> Result<Vec<String>, String> {
        (0..count)
            .map(|i| {
                tools::sample::resign_event(
                    &shipped,
                    &format!("msg_cold_{now}_{tag}_{i}"),
                    LOCAL_WEBHOOK_SECRET,
                    now,
                )
            })
            .collect()
    };

    let trivial = release.join("trivial-lambda");
    let function = release.join("webhook-subscription-updated");
    let (mut base_cold, mut ours_cold) = (Vec::new(), Vec::new());
    for run in 0..cold_runs {
        let one = events(&format!("c{run}"), 1)?;
        base_cold.push(measure(&trivial, &[], &one).await);
        ours_cold.push(measure(&function, &env, &one).await);
    }
    let median = |runs: &[Figures], pick: fn(&Figures) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        percentile(&values, 0.5)
    };
    let mut baseline = measure(&trivial, &[], &events("wb", warm + 1)?).await;
    let mut ours = measure(&function, &env, &events("wo", warm + 1)?).await;
    if cold_runs > 0 {
        baseline.init_ms = median(&base_cold, |f| f.init_ms);
        baseline.first_answer_ms = median(&base_cold, |f| f.first_answer_ms);
        ours.init_ms = median(&ours_cold, |f| f.init_ms);
        ours.first_answer_ms = median(&ours_cold, |f| f.first_answer_ms);
    }

    println!("| figure | trivial lambda_http | webhook-subscription-updated | ratio |");
    println!("|---|---|---|---|");
    let row = |name: &str, base: f64, value: f64| {
        println!(
            "| {name} | {base:.2} | {value:.2} | {:.1}x |",
            value / base.max(1e-9)
        )
    };
    row(
        "init ms (spawn → first /next)",
        baseline.init_ms,
        ours.init_ms,
    );
    row(
        "spawn → first answer ms",
        baseline.first_answer_ms,
        ours.first_answer_ms,
    );
    row("warm p50 ms", baseline.warm_p50_ms, ours.warm_p50_ms);
    row("warm p99 ms", baseline.warm_p99_ms, ours.warm_p99_ms);
    row(
        "CPU per warm event ms",
        baseline.cpu_per_warm_event_ms,
        ours.cpu_per_warm_event_ms,
    );
    row(
        "peak RSS MiB",
        baseline.peak_rss_kib as f64 / 1024.0,
        ours.peak_rss_kib as f64 / 1024.0,
    );
    println!("\ninit and first answer: medians of {cold_runs} cold starts each; {warm} warm events each; ours does a real DynamoDB claim and completion (moto), a Convex read and write (stand-in) per event.");
    Ok(())
}
