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
//! `COLDSTART_EVENTS=renewal`: every event a renewal (account write and
//! push) instead of the same snapshot again (claim, read, completion).
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
    /// The user-space part of it (the rest is the kernel's: syscalls and,
    /// on loopback, the TCP work of both ends).
    user_cpu_per_warm_event_ms: f64,
    peak_rss_kib: u64,
}

/// (user, system) CPU ms of a process so far.
fn proc_cpu_ms(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat (1-based),
    // i.e. 11 and 12 after the ")" that ends the command name; in ticks of
    // 10 ms.
    let ms = |i: usize| -> f64 {
        fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0) * 1000.0 / 100.0
    };
    (ms(11), ms(12))
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

/// moto runs on Werkzeug's development server, which answers every request
/// with `Connection: close`: a client talking to it directly opens a new TCP
/// connection for every DynamoDB call, which DynamoDB itself never forces
/// (the SDK keeps its connections alive). This forwarder keeps the
/// function's connection alive and does the reconnecting to moto on the
/// harness's CPU, so the function's CPU per event reflects production's
/// connection reuse. `COLDSTART_MOTO_DIRECT=1` measures without it.
async fn keepalive_forwarder(moto: &str) -> Result<String, reqwest::Error> {
    use axum::response::IntoResponse;
    use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
    let client = reqwest::Client::builder().build()?;
    let upstream = moto.trim_end_matches('/').to_owned();
    let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let (parts, body) = request.into_parts();
            let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
                return http::StatusCode::BAD_REQUEST.into_response();
            };
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut headers = parts.headers;
            for hop in [HOST, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING] {
                headers.remove(hop);
            }
            let sent = client
                .request(parts.method, format!("{upstream}{path}"))
                .headers(headers)
                .body(body)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(err) => {
                    return (http::StatusCode::BAD_GATEWAY, err.to_string()).into_response()
                }
            };
            let status = response.status();
            let mut headers = response.headers().clone();
            for hop in [CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING] {
                headers.remove(hop);
            }
            match response.bytes().await {
                Ok(bytes) => (status, headers, bytes).into_response(),
                Err(err) => (http::StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
            }
        }
    });
    Ok(serve(router).await)
}

/// The shipped event as the `i`th renewal: `modified_at` `i` seconds and
/// the period end `i` days later. Every such event applies (an account
/// write) and moves the entitlement's expiry (a push and its
/// acknowledgement): the heaviest common path, where the shipped event
/// resent is the lightest (the account is unchanged after the first).
fn renewal(shipped: &str, i: usize) -> Result<String, String> {
    use base64::Engine as _;
    use time::format_description::well_known::Rfc3339;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut event: serde_json::Value =
        serde_json::from_str(shipped).map_err(|e| format!("event: {e}"))?;
    let encoded = event["isBase64Encoded"].as_bool().unwrap_or(false);
    let raw = event["body"].as_str().ok_or("event: no body")?;
    let bytes = if encoded {
        b64.decode(raw).map_err(|e| format!("event body: {e}"))?
    } else {
        raw.as_bytes().to_vec()
    };
    let mut body: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("event body: {e}"))?;
    let steps = i64::try_from(i).map_err(|e| e.to_string())?;
    for (field, step) in [
        ("modified_at", time::Duration::seconds(steps)),
        ("current_period_end", time::Duration::days(steps)),
    ] {
        let at = body["data"][field]
            .as_str()
            .and_then(|t| time::OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or(format!("event body: no {field}"))?;
        let moved = (at + step).format(&Rfc3339).map_err(|e| e.to_string())?;
        body["data"][field] = moved.into();
    }
    let text = body.to_string();
    event["body"] = if encoded { b64.encode(text) } else { text }.into();
    Ok(event.to_string())
}

async fn measure(binary: &Path, env: &[(String, String)], events: &[String]) -> Figures {
    let api = RuntimeApi::start().await.expect("the emulator starts");
    let spawned = Instant::now();
    // COLDSTART_WRAP runs the function under a profiler (e.g. `valgrind
    // --tool=callgrind`), split on spaces; the baseline is never wrapped.
    let wrap = std::env::var("COLDSTART_WRAP").unwrap_or_default();
    let mut command = match wrap.split_whitespace().collect::<Vec<_>>().split_first() {
        Some((program, args)) if !env.is_empty() => {
            let mut command = tokio::process::Command::new(program);
            command.args(args).arg(binary);
            command
        }
        _ => tokio::process::Command::new(binary),
    };
    let mut child = command
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
    let cpu_after = proc_cpu_ms(pid);
    let user = cpu_after.0 - cpu_before.0;
    let cpu = user + cpu_after.1 - cpu_before.1;
    let rss = peak_rss_kib(pid);
    if wrap.is_empty() {
        let _ = child.kill().await;
    } else {
        // A profiler writes its results when its process ends normally or
        // on SIGTERM, never on the SIGKILL of `kill()`.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    }
    warm.sort_by(f64::total_cmp);
    Figures {
        init_ms: init.as_secs_f64() * 1000.0,
        first_answer_ms: first_answer.as_secs_f64() * 1000.0,
        warm_p50_ms: percentile(&warm, 0.5),
        warm_p99_ms: percentile(&warm, 0.99),
        cpu_per_warm_event_ms: cpu / warm.len() as f64,
        user_cpu_per_warm_event_ms: user / warm.len() as f64,
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
    let orchestrator = Arc::new(InMemoryProvisioner::default());
    let receiver = Arc::new(ProvisioningReceiver::new(
        orchestrator.clone(),
        PROVISIONING_SECRET,
    )?);
    let provisioning = format!("{}/", serve(receiver.router()).await);
    let direct = std::env::var_os("COLDSTART_MOTO_DIRECT").is_some_and(|v| v == "1");
    let dynamodb_endpoint = if direct {
        moto.clone()
    } else {
        keepalive_forwarder(&moto).await?
    };
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    let env: Vec<(String, String)> = [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint),
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
    let renewals = std::env::var("COLDSTART_EVENTS").is_ok_and(|v| v == "renewal");
    // Every event a new delivery id: each one is a real claim, not a duplicate.
    let events = |tag: &str, count: usize| -> Result<Vec<String>, String> {
        (0..count)
            .map(|i| {
                let event = if renewals {
                    renewal(&shipped, i)?
                } else {
                    shipped.clone()
                };
                tools::sample::resign_event(
                    &event,
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
        // CPU comes in 10 ms ticks: a baseline of a tick or less over the
        // whole run can read 0, and has no meaningful ratio.
        let ratio = if base > 0.0 {
            format!("{:.1}x", value / base)
        } else {
            "n/a".to_owned()
        };
        println!("| {name} | {base:.2} | {value:.2} | {ratio} |")
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
        "  of which user-space ms",
        baseline.user_cpu_per_warm_event_ms,
        ours.user_cpu_per_warm_event_ms,
    );
    row(
        "peak RSS MiB",
        baseline.peak_rss_kib as f64 / 1024.0,
        ours.peak_rss_kib as f64 / 1024.0,
    );
    let per_event = if renewals {
        "a renewal each (COLDSTART_EVENTS=renewal): a real DynamoDB claim and completion (moto), a Convex read, write and acknowledgement write (stand-in) and a signed push (receiver)"
    } else {
        "the same snapshot again each: a real DynamoDB claim and completion (moto) and a Convex read (stand-in); the account is unchanged after the first, so no Convex write or push"
    };
    // Proof the events did what the mode says (a parked event answers 200 too).
    println!(
        "provisioning pushes received: {}",
        orchestrator.pushes().len()
    );
    println!("\ninit and first answer: medians of {cold_runs} cold starts each; {warm} warm events each; ours handles {per_event}.");
    println!(
        "DynamoDB reached {}.",
        if direct {
            "directly (moto closes every connection: one TCP connect per call)"
        } else {
            "through the harness's keep-alive forwarder (connections reused, as with DynamoDB)"
        }
    );
    Ok(())
}
