//! The burst (issue 18 part 3): N deliveries for M accounts at once through
//! K processes of each real webhook binary, for each K asked, then the
//! table — throughput, answer times, answers, 409s, compare-and-set
//! conflicts and re-reads — and each run's final consistency check
//! (tools::burst::check). scripts/burst.sh builds the release binaries,
//! starts moto and runs it.

use clap::Parser;
use std::path::PathBuf;
use tools::burst::{run, Config, Report};

#[derive(Parser)]
#[command(about = "A burst of Polo deliveries through K processes of each webhook binary")]
struct Args {
    /// The directory holding the webhook binaries (a copy of target/release).
    binaries: PathBuf,
    /// Processes per webhook function, one burst each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    k: Vec<usize>,
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    #[arg(long, default_value_t = 10_000)]
    deliveries: usize,
    #[arg(long, default_value_t = 10)]
    duplicate_percent: usize,
    /// Deliveries in flight at once; default 2 per process (each process
    /// busy and one waiting for it).
    #[arg(long)]
    concurrency: Option<usize>,
    #[arg(long, default_value_t = 18)]
    seed: u64,
    /// DynamoDB (moto) endpoint.
    #[arg(long, env = "MOTO_ENDPOINT")]
    moto: String,
    /// Where the processes' stdout goes.
    #[arg(long, default_value = "target/burst-logs")]
    log_dir: PathBuf,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut consistent = true;
    print_header();
    for &k in &args.k {
        let config = Config {
            accounts: args.accounts,
            deliveries: args.deliveries,
            duplicate_percent: args.duplicate_percent,
            seed: args.seed,
            k,
            concurrency: args.concurrency.unwrap_or(2 * 5 * k),
            moto: args.moto.clone(),
            events_dir: tools::burst::shipped_events(),
            log_dir: args.log_dir.join(format!("k{k}")),
        };
        eprintln!(
            "burst: K = {k}, {} deliveries for {} accounts, {} in flight",
            config.deliveries, config.accounts, config.concurrency
        );
        let report = run(&config, |name| args.binaries.join(name)).await?;
        eprintln!("burst: K = {k} done in {:.1} s", report.wall.as_secs_f64());
        for failure in &report.verdict.failures {
            eprintln!("  inconsistent: {failure}");
        }
        consistent &= report.verdict.passed();
        // Each row as soon as its burst ends: a long run interrupted
        // still leaves the rows it finished.
        print_row(&report);
    }
    if !consistent {
        return Err("the final consistency check failed".into());
    }
    Ok(())
}

fn print_header() {
    println!("| K (processes per function) | processes | deliveries | wall s | deliveries/s | attempt p50 ms | attempt p99 ms | delivery p50 ms | delivery p99 ms | processed | duplicate | stale | parked | 202 accepted → swept | 409 in_progress | 5xx / errors | CAS conflicts | re-reads | Convex reads | consistency |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
}

fn print_row(r: &Report) {
    let n = |answer: &str| r.answers.get(answer).copied().unwrap_or(0);
    let verdict = if r.verdict.passed() {
        format!(
            "pass: {} accounts = in-order outcome; {} events each handled once; {} audit rows, none twice; {} pushes ({} repeats)",
            r.verdict.accounts,
            r.verdict.events,
            r.verdict.audit_rows,
            r.verdict.pushes,
            r.verdict.repeated_pushes
        )
    } else {
        format!("FAIL: {} findings", r.verdict.failures.len())
    };
    println!(
        "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        r.k,
        r.processes,
        r.deliveries,
        r.wall.as_secs_f64(),
        r.deliveries_per_second(),
        r.attempt_p50_ms,
        r.attempt_p99_ms,
        r.delivery_p50_ms,
        r.delivery_p99_ms,
        n("processed"),
        n("duplicate"),
        n("stale"),
        n("parked"),
        if n("accepted") == 0 {
            "0".to_owned()
        } else {
            format!(
                "{} → {} applied by webhook-retry ({} runs, {:.0} s)",
                n("accepted"),
                r.swept.applied,
                r.swept.runs,
                r.swept.took.as_secs_f64()
            )
        },
        r.status_409,
        r.status_5xx,
        r.cas_conflicts,
        r.re_reads,
        r.convex_reads,
        verdict
    );
    let other: Vec<_> = r
        .answers
        .keys()
        .filter(|a| {
            !matches!(
                a.as_str(),
                "processed" | "duplicate" | "stale" | "parked" | "accepted" | "in_progress"
            )
        })
        .collect();
    if !other.is_empty() {
        println!("(K = {}: other answers seen: {other:?})", r.k);
    }
}
