//! Cold-start harness: starts a compiled function binary behind the Lambda
//! Runtime API emulator — stores on the DynamoDB emulator, accounts on the
//! Convex stand-in, secrets from the environment — hands it real signed
//! events, and reports init (spawn → first `/next`), spawn → first answer,
//! warm p50/p99, CPU per warm event and peak RSS, beside the trivial
//! `lambda_http` baseline measured in the same run. The warm path is also
//! set against its floor (`floor-lambda`: the same three round trips and
//! nothing else, over bare hyper, over reqwest, and with DynamoDB through
//! the AWS SDK), so what is ours to cut is told apart from what the round
//! trips cost on this machine. CPU per event is the scheduler's exact
//! account (`/proc/<pid>/task/*/schedstat`), beside the 10 ms tick count.
//!
//! Cold starts are repeated (default 15 of each, interleaved) and reported
//! as medians, so one noisy start on a shared machine does not decide a
//! figure; the warm figures come from one long run of each.
//!
//! usage: coldstart <target/release dir> [warm events, default 200] [cold starts, default 15]
//!        coldstart all <target/release dir> [warm events, default 50] [cold starts, default 7]
//! `all`: every one of the twelve functions beside the trivial binary
//! (all.rs, over the subjects of `tools::subjects`).
//! `COLDSTART_EVENTS=renewal`: every event a renewal (account write and
//! push) instead of the same snapshot again (claim, read, completion).
//! needs MOTO_ENDPOINT (scripts/coldstart.sh starts moto and builds).

mod all;
mod fixtures;
mod measure;

use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId};
use billing::provisioning::InMemoryProvisioner;
use fixtures::{keepalive_forwarder, renewal, serve, table};
use measure::{answered_200, measure, percentile, Figures};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tools::convex_stub::ConvexStub;
use tools::local::{LOCAL_PRODUCTS, LOCAL_WEBHOOK_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;

/// The deadline every invocation gets here (as measured before the `all` mode).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const CONVEX_SECRET: &str = "whsec_Y29sZHN0YXJ0LWNvbnZleC1zZWNyZXQ=";
const PROVISIONING_SECRET: &str = "whsec_Y29sZHN0YXJ0LXByb3Zpc2lvbmluZy1zZWNyZXQ=";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "all") {
        args.remove(0);
        return all::run(&args).await;
    }
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
        ("IDEMPOTENCY_TABLE", table(&moto).await?),
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
        base_cold.push(measure(&trivial, &[], &one, false, &answered_200, TIMEOUT).await?);
        ours_cold.push(measure(&function, &env, &one, true, &answered_200, TIMEOUT).await?);
    }
    let median = |runs: &[Figures], pick: fn(&Figures) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        percentile(&values, 0.5)
    };
    let mut baseline = measure(
        &trivial,
        &[],
        &events("wb", warm + 1)?,
        false,
        &answered_200,
        TIMEOUT,
    )
    .await?;
    // The round-trip floor, three ways (floor-lambda.rs): bare hyper,
    // reqwest (our client), reqwest with DynamoDB through the AWS SDK.
    let mut floors = Vec::new();
    for (tag, extra) in [
        ("wh", ("FLOOR_CLIENT", "hyper")),
        ("wf", ("FLOOR_CLIENT", "reqwest")),
        ("ws", ("FLOOR_DYNAMODB", "sdk")),
    ] {
        let mut floor_env = env.clone();
        floor_env.push((extra.0.to_owned(), extra.1.to_owned()));
        let floor_bin = release.join("floor-lambda");
        let tagged = events(tag, warm + 1)?;
        floors.push(
            measure(
                &floor_bin,
                &floor_env,
                &tagged,
                false,
                &answered_200,
                TIMEOUT,
            )
            .await?,
        );
    }
    let mut ours = measure(
        &function,
        &env,
        &events("wo", warm + 1)?,
        true,
        &answered_200,
        TIMEOUT,
    )
    .await?;
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
        "CPU per warm event ms (scheduler, ns-exact)",
        baseline.on_cpu_per_warm_event_ms,
        ours.on_cpu_per_warm_event_ms,
    );
    row(
        "CPU per warm event ms (10 ms ticks)",
        baseline.cpu_per_warm_event_ms,
        ours.cpu_per_warm_event_ms,
    );
    row(
        "  of which user-space ms (ticks)",
        baseline.user_cpu_per_warm_event_ms,
        ours.user_cpu_per_warm_event_ms,
    );
    row(
        "peak RSS MiB",
        baseline.peak_rss_kib as f64 / 1024.0,
        ours.peak_rss_kib as f64 / 1024.0,
    );
    println!(
        "\nwarm path against the round-trip floor (floor-lambda: the same claim, Convex read and completion over one keep-alive client, nothing else):"
    );
    println!("| figure | trivial lambda_http | floor, hyper | floor, reqwest | floor, reqwest + SDK for DynamoDB | ours | ours − floor (reqwest) |");
    println!("|---|---|---|---|---|---|---|");
    let warm_row = |name: &str, pick: fn(&Figures) -> f64| {
        let (b, o) = (pick(&baseline), pick(&ours));
        let f: Vec<f64> = floors.iter().map(pick).collect();
        println!(
            "| {name} | {b:.3} | {:.3} | {:.3} | {:.3} | {o:.3} | {:.3} |",
            f[0],
            f[1],
            f[2],
            o - f[1]
        )
    };
    warm_row("warm p50 ms", |f| f.warm_p50_ms);
    warm_row("CPU per warm event ms (scheduler, ns-exact)", |f| {
        f.on_cpu_per_warm_event_ms
    });
    warm_row("  of which user-space ms (ticks)", |f| {
        f.user_cpu_per_warm_event_ms
    });
    warm_row("peak RSS MiB", |f| f.peak_rss_kib as f64 / 1024.0);
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
