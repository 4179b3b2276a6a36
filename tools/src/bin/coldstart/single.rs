//! The default mode: `webhook-subscription-updated` beside the trivial
//! binary and the round-trip floors (`floor-lambda`), cold starts repeated
//! and interleaved, then one long warm run of each.

use crate::fixtures::{keepalive_forwarder, renewal, serve, table};
use crate::measure::{answered_200, measure, percentile, Figures};
use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId};
use billing::provisioning::InMemoryProvisioner;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tools::convex_stub::ConvexStub;
use tools::local::{LOCAL_PRODUCTS, LOCAL_WEBHOOK_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;

type BoxError = Box<dyn std::error::Error>;

/// The deadline every invocation gets here (as measured before the `all` mode).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const CONVEX_SECRET: &str = "whsec_Y29sZHN0YXJ0LWNvbnZleC1zZWNyZXQ=";
const PROVISIONING_SECRET: &str = "whsec_Y29sZHN0YXJ0LXByb3Zpc2lvbmluZy1zZWNyZXQ=";

/// What the function calls (the Convex stand-in, the orchestrator, moto
/// through the keep-alive forwarder or directly) and its environment.
struct Stage {
    env: Vec<(String, String)>,
    orchestrator: Arc<InMemoryProvisioner>,
    direct: bool,
}

impl Stage {
    async fn start(moto: &str) -> Result<Self, BoxError> {
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
            moto.to_owned()
        } else {
            keepalive_forwarder(moto).await?
        };
        let (starter, pro, enterprise) = LOCAL_PRODUCTS;
        let env = [
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint),
            ("STAGE", "local".to_owned()),
            ("POLO_ENVIRONMENT", "sandbox".to_owned()),
            ("IDEMPOTENCY_TABLE", table(moto).await?),
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
        Ok(Self {
            env,
            orchestrator,
            direct,
        })
    }
}

/// Signed deliveries of the shipped event, each with a new delivery id (a
/// real claim, not a duplicate); renewals when `COLDSTART_EVENTS=renewal`.
struct Events {
    shipped: String,
    now: i64,
    renewals: bool,
}

impl Events {
    fn load() -> Result<Self, BoxError> {
        let events_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
        Ok(Self {
            shipped: std::fs::read_to_string(events_dir.join("webhook-subscription-updated.json"))?,
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
            renewals: std::env::var("COLDSTART_EVENTS").is_ok_and(|v| v == "renewal"),
        })
    }

    fn make(&self, tag: &str, count: usize) -> Result<Vec<String>, String> {
        (0..count)
            .map(|i| {
                let event = if self.renewals {
                    renewal(&self.shipped, i)?
                } else {
                    self.shipped.clone()
                };
                tools::sample::resign_event(
                    &event,
                    &format!("msg_cold_{}_{tag}_{i}", self.now),
                    LOCAL_WEBHOOK_SECRET,
                    self.now,
                )
            })
            .collect()
    }
}

/// The figures of one run: the trivial binary, the three floors, ours.
struct Measured {
    baseline: Figures,
    floors: Vec<Figures>,
    ours: Figures,
}

async fn measure_all(
    release: &Path,
    stage: &Stage,
    events: &Events,
    warm: usize,
    cold_runs: usize,
) -> Result<Measured, BoxError> {
    let env = &stage.env;
    let trivial = release.join("trivial-lambda");
    let function = release.join("webhook-subscription-updated");
    let (mut base_cold, mut ours_cold) = (Vec::new(), Vec::new());
    for run in 0..cold_runs {
        let one = events.make(&format!("c{run}"), 1)?;
        base_cold.push(measure(&trivial, &[], &one, false, &answered_200, TIMEOUT).await?);
        ours_cold.push(measure(&function, env, &one, true, &answered_200, TIMEOUT).await?);
    }
    let mut baseline = measure(
        &trivial,
        &[],
        &events.make("wb", warm + 1)?,
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
        let tagged = events.make(tag, warm + 1)?;
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
        env,
        &events.make("wo", warm + 1)?,
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
    Ok(Measured {
        baseline,
        floors,
        ours,
    })
}

fn median(runs: &[Figures], pick: fn(&Figures) -> f64) -> f64 {
    let mut values: Vec<f64> = runs.iter().map(pick).collect();
    values.sort_by(f64::total_cmp);
    percentile(&values, 0.5)
}

/// Ours against the trivial binary, figure by figure.
fn print_against_trivial(m: &Measured) {
    let (baseline, ours) = (&m.baseline, &m.ours);
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
}

/// The warm path against the round-trip floors.
fn print_against_floors(m: &Measured) {
    println!(
        "\nwarm path against the round-trip floor (floor-lambda: the same claim, Convex read and completion over one keep-alive client, nothing else):"
    );
    println!("| figure | trivial lambda_http | floor, hyper | floor, reqwest | floor, reqwest + SDK for DynamoDB | ours | ours − floor (reqwest) |");
    println!("|---|---|---|---|---|---|---|");
    let warm_row = |name: &str, pick: fn(&Figures) -> f64| {
        let (b, o) = (pick(&m.baseline), pick(&m.ours));
        let f: Vec<f64> = m.floors.iter().map(pick).collect();
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
}

/// What each event did and how DynamoDB was reached.
fn print_conditions(stage: &Stage, events: &Events, warm: usize, cold_runs: usize) {
    let per_event = if events.renewals {
        "a renewal each (COLDSTART_EVENTS=renewal): a real DynamoDB claim and completion (moto), a Convex read, write and acknowledgement write (stand-in) and a signed push (receiver)"
    } else {
        "the same snapshot again each: a real DynamoDB claim and completion (moto) and a Convex read (stand-in); the account is unchanged after the first, so no Convex write or push"
    };
    // Proof the events did what the mode says (a parked event answers 200 too).
    println!(
        "provisioning pushes received: {}",
        stage.orchestrator.pushes().len()
    );
    println!("\ninit and first answer: medians of {cold_runs} cold starts each; {warm} warm events each; ours handles {per_event}.");
    println!(
        "DynamoDB reached {}.",
        if stage.direct {
            "directly (moto closes every connection: one TCP connect per call)"
        } else {
            "through the harness's keep-alive forwarder (connections reused, as with DynamoDB)"
        }
    );
}

/// `coldstart <target/release dir> [warm events] [cold starts]`.
pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let release = PathBuf::from(
        args.first()
            .ok_or("usage: coldstart <target/release dir> [warm events]")?,
    );
    let warm: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(200);
    let cold_runs: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(15);
    let moto = std::env::var("MOTO_ENDPOINT")
        .map_err(|_| "MOTO_ENDPOINT is not set (scripts/coldstart.sh starts moto)")?;
    let stage = Stage::start(&moto).await?;
    let events = Events::load()?;
    let measured = measure_all(&release, &stage, &events, warm, cold_runs).await?;
    print_against_trivial(&measured);
    print_against_floors(&measured);
    print_conditions(&stage, &events, warm, cold_runs);
    Ok(())
}
