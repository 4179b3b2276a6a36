//! `coldstart all`: the cold start of every one of the twelve functions
//! beside the trivial `lambda_http` binary, in one run over one world
//! (`tools::subjects`): init (spawn → first `/next`), spawn → first answer,
//! warm p50/p99 and peak RSS each, every answer checked. Cold starts are
//! interleaved (trivial, then the twelve, repeated) so a busy spell on the
//! shared machine lands on all of them alike; init and first answer are
//! medians over them. Warm figures and peak RSS come from one longer run of
//! each (peak RSS after its warm events: the most a warm instance held).

use crate::fixtures::keepalive_forwarder;
use crate::measure::{answered_200, measure, percentile, Figures};
use std::path::{Path, PathBuf};
use tools::local::LOCAL_WEBHOOK_SECRET;
use tools::subjects::{Subject, World};

/// The function every init is also set against (issue 18: "any function
/// above 2x the webhook function's init is explained or fixed").
const REFERENCE: &str = "webhook-subscription-updated";
/// The trivial binary gets a webhook's deadline (template.yaml: 9 s).
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(9);

pub async fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let release = PathBuf::from(
        args.first()
            .ok_or("usage: coldstart all <target/release dir> [warm events] [cold starts]")?,
    );
    let warm: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(50);
    let cold_runs: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(7);
    let moto = std::env::var("MOTO_ENDPOINT")
        .map_err(|_| "MOTO_ENDPOINT is not set (scripts/coldstart.sh starts moto)")?;
    let direct = std::env::var_os("COLDSTART_MOTO_DIRECT").is_some_and(|v| v == "1");
    let dynamodb_url = if direct {
        moto.clone()
    } else {
        keepalive_forwarder(&moto).await?
    };
    let world = World::start(&moto, dynamodb_url).await?;
    let events_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let subjects = Subject::all(&world, &events_dir)?;
    // The trivial binary answers 200 to anything; it gets a webhook delivery.
    let shipped = std::fs::read_to_string(events_dir.join(format!("{REFERENCE}.json")))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let trivial_events = |tag: &str, count: usize| -> Result<Vec<String>, String> {
        (0..count)
            .map(|i| {
                let id = format!("msg_trivial_{now}_{tag}_{i}");
                tools::sample::resign_event(&shipped, &id, LOCAL_WEBHOOK_SECRET, now)
            })
            .collect()
    };
    let trivial = release.join("trivial-lambda");

    let mut trivial_cold = Vec::new();
    let mut cold: Vec<Vec<Figures>> = subjects.iter().map(|_| Vec::new()).collect();
    for run in 0..cold_runs {
        let one = trivial_events(&format!("c{run}"), 1)?;
        trivial_cold
            .push(measure(&trivial, &[], &one, false, &answered_200, WEBHOOK_TIMEOUT).await?);
        for (subject, runs) in subjects.iter().zip(cold.iter_mut()) {
            let check = |o: &_| subject.check(o);
            let event = [subject.event()?];
            let binary = release.join(subject.name);
            runs.push(
                measure(
                    &binary,
                    subject.env(),
                    &event,
                    false,
                    &check,
                    subject.timeout(),
                )
                .await?,
            );
        }
    }
    let mut baseline = measure(
        &trivial,
        &[],
        &trivial_events("w", warm + 1)?,
        false,
        &answered_200,
        WEBHOOK_TIMEOUT,
    )
    .await?;
    settle(&mut baseline, &trivial_cold);
    let mut rows = Vec::new();
    for (subject, runs) in subjects.iter().zip(&cold) {
        let check = |o: &_| subject.check(o);
        let events = (0..=warm)
            .map(|_| subject.event())
            .collect::<Result<Vec<_>, _>>()?;
        let binary = release.join(subject.name);
        let mut figures = measure(
            &binary,
            subject.env(),
            &events,
            false,
            &check,
            subject.timeout(),
        )
        .await?;
        settle(&mut figures, runs);
        rows.push((subject.name, figures));
    }

    let reference = rows
        .iter()
        .find(|(name, _)| *name == REFERENCE)
        .map(|(_, f)| f.init_ms)
        .ok_or("the reference function is not among the subjects")?;
    println!("| function | init ms | spawn → first answer ms | warm p50 ms | warm p99 ms | peak RSS MiB | init ÷ trivial | init ÷ {REFERENCE} |");
    println!("|---|---|---|---|---|---|---|---|");
    let print = |name: &str, f: &Figures| {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1}x | {:.2}x |",
            f.init_ms,
            f.first_answer_ms,
            f.warm_p50_ms,
            f.warm_p99_ms,
            f.peak_rss_kib as f64 / 1024.0,
            f.init_ms / baseline.init_ms,
            f.init_ms / reference
        )
    };
    print("trivial lambda_http", &baseline);
    for (name, figures) in &rows {
        print(name, figures);
    }
    let over: Vec<&str> = rows
        .iter()
        .filter(|(_, f)| f.init_ms > 2.0 * reference)
        .map(|(name, _)| *name)
        .collect();
    println!(
        "\ninit and first answer: medians of {cold_runs} interleaved cold starts each; warm p50/p99 and peak RSS: one run of {warm} warm events each; every answer checked (tools/src/subjects)."
    );
    println!(
        "above 2x {REFERENCE}'s init: {}",
        if over.is_empty() {
            "none".to_owned()
        } else {
            over.join(", ")
        }
    );
    println!(
        "DynamoDB reached {}; provisioning pushes received: {}.",
        if direct {
            "directly"
        } else {
            "through the harness's keep-alive forwarder"
        },
        world.orchestrator.pushes().len()
    );
    Ok(())
}

/// Init and first answer from the cold starts' medians (when there were any).
fn settle(figures: &mut Figures, cold: &[Figures]) {
    if cold.is_empty() {
        return;
    }
    let median = |pick: fn(&Figures) -> f64| {
        let mut values: Vec<f64> = cold.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        percentile(&values, 0.5)
    };
    figures.init_ms = median(|f| f.init_ms);
    figures.first_answer_ms = median(|f| f.first_answer_ms);
}
