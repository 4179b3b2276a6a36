//! The scale harness (issue 18; docs/BENCHMARKS.md "Scale: jobs ×
//! accounts"): for each N and each job, a fresh world of N accounts, the
//! job's release binary run as production runs it, its work checked, and
//! one table row: wall time, calls per account to each dependency, peak
//! memory, Lambda invocations. Then each figure's growth exponent across
//! the N values, and the per-operation counts the cost model reads.
//!
//! usage: scale <dir of release binaries> [options] N... (scripts/scale.sh
//! builds them and starts moto; MOTO_ENDPOINT is needed for webhook-retry)

use clap::Parser;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tools::scale::fit::exponent;
use tools::scale::jobs::{measure, Job, Measured, Setup};
use tools::scale::world::Options;

#[derive(Debug, Parser)]
#[command(
    name = "scale",
    about = "How the scheduled jobs' cost grows with the accounts"
)]
struct Args {
    /// Where provisioning-sync, webhook-retry and admin are.
    bin_dir: PathBuf,
    /// Account counts to measure.
    #[arg(required = true)]
    n: Vec<usize>,
    /// Jobs (comma list of provisioning-sync, reconcile, webhook-retry,
    /// migrate-paypal); default all.
    #[arg(long, value_delimiter = ',')]
    jobs: Vec<String>,
    /// Each scheduled invocation's Lambda timeout, seconds (template.yaml: 55).
    #[arg(long, default_value_t = 55)]
    timeout: u64,
    /// Polo's requests-per-second limit, enforced by the sandbox (0: none;
    /// polo-api.md gives no figure, 500 is assumed).
    #[arg(long, default_value_t = 500)]
    polo_rps: u32,
    /// Where the binaries' logs, exports and reports go.
    #[arg(long, default_value = "/tmp/scale-logs")]
    log_dir: PathBuf,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.log_dir)?;
    let jobs: Vec<Job> = if args.jobs.is_empty() {
        Job::ALL.to_vec()
    } else {
        args.jobs
            .iter()
            .map(|j| Job::parse(j).ok_or(format!("unknown job {j:?}")))
            .collect::<Result<_, _>>()?
    };
    let setup = Setup {
        bin_dir: args.bin_dir.clone(),
        world: Options {
            polo_rps: (args.polo_rps > 0).then_some(args.polo_rps),
            push_latency: Duration::ZERO,
            moto: std::env::var("MOTO_ENDPOINT").ok(),
        },
        timeout: Duration::from_secs(args.timeout),
        log_dir: args.log_dir.clone(),
    };
    println!(
        "Polo limit {} req/s; Lambda timeout {} s per invocation; {} cores; shared, busy machine",
        args.polo_rps,
        args.timeout,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("\n| job | N | work items | wall s | Lambda billed s | invocations | peak RSS MiB | calls per account | next (idle) run: billed ms, calls |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut all: Vec<Measured> = Vec::new();
    for &n in &args.n {
        for &job in &jobs {
            let measured = measure(job, n, &setup)
                .await
                .map_err(|e| format!("{} at N={n}: {e}", job.name()))?;
            let calls = measured
                .per_account()
                .iter()
                .map(|(dep, per)| format!("{dep} {per:.2}"))
                .collect::<Vec<_>>()
                .join(", ");
            let idle =
                measured
                    .run
                    .idle
                    .as_ref()
                    .map_or("n/a (CLI)".to_owned(), |(billed, calls)| {
                        let list = calls
                            .iter()
                            .map(|((dep, op), n)| format!("{dep} {op} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        format!("{:.1} ms; {list}", billed.as_secs_f64() * 1000.0)
                    });
            println!(
                "| {} | {n} | {} | {:.1} | {:.1} | {} | {:.1} | {calls} | {idle} |",
                job.name(),
                measured.work,
                measured.run.wall.as_secs_f64(),
                measured.run.billed.as_secs_f64(),
                measured.run.invocations,
                measured.run.peak_rss_kib as f64 / 1024.0
            );
            all.push(measured);
        }
    }
    print_fit(&all, &jobs);
    print_operations(&all);
    Ok(())
}

/// The growth exponent of each figure per job (1.0 linear, 0 flat).
fn print_fit(all: &[Measured], jobs: &[Job]) {
    println!("\n| job | wall time | calls (all dependencies) | peak RSS | invocations |");
    println!("|---|---|---|---|---|");
    for &job in jobs {
        let rows: Vec<&Measured> = all.iter().filter(|m| m.job == job).collect();
        let fit = |pick: &dyn Fn(&Measured) -> f64| {
            exponent(
                &rows
                    .iter()
                    .map(|m| (m.n as f64, pick(m)))
                    .collect::<Vec<_>>(),
            )
            .map_or("n/a".to_owned(), |b| format!("N^{b:.2}"))
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            job.name(),
            fit(&|m| m.run.wall.as_secs_f64()),
            fit(&|m| m.calls.values().sum::<u64>() as f64),
            fit(&|m| m.run.peak_rss_kib as f64),
            fit(&|m| m.run.invocations as f64),
        );
    }
}

/// Every operation's count: what the cost model is derived from.
fn print_operations(all: &[Measured]) {
    println!("\n| job | N | dependency | operation | calls | per account |");
    println!("|---|---|---|---|---|---|");
    for m in all {
        let mut rows: BTreeMap<&(String, String), u64> = BTreeMap::new();
        for (key, count) in &m.calls {
            rows.insert(key, *count);
        }
        for ((dep, op), count) in rows {
            println!(
                "| {} | {} | {dep} | {op} | {count} | {:.3} |",
                m.job.name(),
                m.n,
                count as f64 / m.n as f64
            );
        }
    }
}
