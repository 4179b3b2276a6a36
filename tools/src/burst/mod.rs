//! Issue 18 part 3, the burst: thousands of Polo deliveries for many
//! accounts (lifecycles in Polo's order, a share of them re-sent, all
//! shuffled) arriving at once at K processes of each real webhook binary
//! behind the Lambda Runtime API emulator, over DynamoDB on moto, the Convex
//! stand-in, the provisioning receiver and the Polo sandbox; then the
//! figures (throughput, answer times, answers, compare-and-set conflicts
//! and re-reads) and the final consistency check. The `burst` binary
//! (scripts/burst.sh) runs it at full size; functions/tests/burst_small.rs
//! runs a small one as a correctness test.

pub mod check;
pub mod fleet;
pub mod send;
pub mod story;
pub mod sweep;
pub mod world;

use check::Verdict;
use send::Delivered;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// One burst's shape and where its parts are.
pub struct Config {
    pub accounts: usize,
    pub deliveries: usize,
    pub duplicate_percent: usize,
    pub seed: u64,
    /// Processes per webhook function (Lambda's concurrency).
    pub k: usize,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// DynamoDB (moto) endpoint.
    pub moto: String,
    /// The shipped `events/` directory (the API Gateway event shapes).
    pub events_dir: PathBuf,
    /// Where each process's stdout goes.
    pub log_dir: PathBuf,
}

/// What one burst measured and found.
#[derive(Debug)]
pub struct Report {
    pub k: usize,
    pub processes: usize,
    pub deliveries: usize,
    pub distinct_events: usize,
    pub wall: Duration,
    /// Every attempt's answer (`processed`, `duplicate`, ..., `in_progress`).
    pub answers: BTreeMap<String, usize>,
    pub attempt_p50_ms: f64,
    pub attempt_p99_ms: f64,
    /// First send to 2xx, retries and backoffs included.
    pub delivery_p50_ms: f64,
    pub delivery_p99_ms: f64,
    pub status_409: usize,
    pub status_5xx: usize,
    pub cas_conflicts: u64,
    pub convex_reads: u64,
    pub re_reads: u64,
    /// The retry sweep's work on the deliveries answered 202.
    pub swept: sweep::Drained,
    pub verdict: Verdict,
}

impl Report {
    pub fn deliveries_per_second(&self) -> f64 {
        self.deliveries as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs one burst through the binaries `binary(name)` (the five webhook
/// functions, and `webhook-retry` for any delivery answered 202) and
/// checks it.
pub async fn run(config: &Config, binary: impl Fn(&str) -> PathBuf) -> Result<Report, String> {
    let now = time::OffsetDateTime::now_utc();
    let burst = story::generate(
        config.accounts,
        config.deliveries,
        config.duplicate_percent,
        config.seed,
        now,
    );
    let gateway = send::gateway_events(&burst, &config.events_dir)?;
    let table = crate::moto::fresh_table(&config.moto, "burst").await?;
    let world = world::World::start(&burst, &config.moto, &table).await?;
    let mut fleet = fleet::Fleet::start(&binary, config.k, &world.env, &config.log_dir).await?;
    let sent = send::send_all(&burst, &gateway, &fleet, config.concurrency).await;
    fleet.stop().await;
    let (delivered, wall) = sent?;
    let accepted: Vec<String> = delivered
        .iter()
        .filter(|d| d.last().is_some_and(|a| a.answer == "accepted"))
        .map(|d| burst.events[d.event].id.clone())
        .collect();
    let drained = sweep::drain(
        &binary("webhook-retry"),
        &world.env,
        &config.log_dir,
        &config.moto,
        &table,
        &accepted,
    )
    .await?;

    let expected = check::expected_states(&burst, |name| world.polo_subscription_json(name), now)?;
    let mut verdict = Verdict::default();
    check::compare_states(&mut verdict, &expected, |id| world.accounts.account(id));
    check::check_answers(&mut verdict, &burst, &delivered, &drained.statuses);
    check::check_audit(&mut verdict, &burst, |id| world.accounts.audit_rows(id));
    check::check_pushes(
        &mut verdict,
        &world.accounts,
        &world.orchestrator,
        &expected,
    );

    let counts = &world.convex_counts;
    Ok(Report {
        k: config.k,
        processes: fleet.apis.len() * config.k,
        deliveries: delivered.len(),
        distinct_events: burst.events.len(),
        wall,
        answers: answers(&delivered),
        attempt_p50_ms: percentile(attempt_times(&delivered), 0.50),
        attempt_p99_ms: percentile(attempt_times(&delivered), 0.99),
        delivery_p50_ms: percentile(delivered.iter().map(|d| d.total_millis).collect(), 0.50),
        delivery_p99_ms: percentile(delivered.iter().map(|d| d.total_millis).collect(), 0.99),
        status_409: count_status(&delivered, |s| s == 409),
        status_5xx: count_status(&delivered, |s| s >= 500 || s == 0),
        cas_conflicts: counts.conflicts.load(Ordering::Relaxed),
        convex_reads: counts.reads.load(Ordering::Relaxed),
        re_reads: fleet.re_reads()?,
        swept: drained,
        verdict,
    })
}

fn answers(delivered: &[Delivered]) -> BTreeMap<String, usize> {
    let mut answers = BTreeMap::new();
    for attempt in delivered.iter().flat_map(|d| &d.attempts) {
        *answers.entry(attempt.answer.clone()).or_insert(0) += 1;
    }
    answers
}

fn attempt_times(delivered: &[Delivered]) -> Vec<f64> {
    delivered
        .iter()
        .flat_map(|d| d.attempts.iter().map(|a| a.millis))
        .collect()
}

fn count_status(delivered: &[Delivered], pick: impl Fn(u16) -> bool) -> usize {
    delivered
        .iter()
        .flat_map(|d| &d.attempts)
        .filter(|a| pick(a.status))
        .count()
}

/// The nearest-rank percentile `q` of `values` (0 when empty).
pub fn percentile(mut values: Vec<f64>, q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// The shipped `events/` directory beside the tools crate.
pub fn shipped_events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}
