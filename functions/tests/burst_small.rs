//! The burst (issue 18 part 3) at CI size: 200 deliveries for 20 accounts
//! (lifecycles in Polo's order, 10% re-sent, all interleaved) at once through
//! 4 processes of each real webhook binary behind the Lambda Runtime API
//! emulator, over moto, the Convex stand-in, the provisioning receiver and
//! the Polo sandbox. Correctness only — every account ends as its events
//! applied in order, every event handled once, none applied twice — never
//! timing: the full-size burst and its figures are scripts/burst.sh's.

use std::path::{Path, PathBuf};
use tools::burst::{run, shipped_events, Config};

fn binary(name: &str) -> PathBuf {
    let path = match name {
        "webhook-subscription-created" => env!("CARGO_BIN_EXE_webhook-subscription-created"),
        "webhook-subscription-updated" => env!("CARGO_BIN_EXE_webhook-subscription-updated"),
        "webhook-subscription-canceled" => env!("CARGO_BIN_EXE_webhook-subscription-canceled"),
        "webhook-payment-failed" => env!("CARGO_BIN_EXE_webhook-payment-failed"),
        "webhook-payment-succeeded" => env!("CARGO_BIN_EXE_webhook-payment-succeeded"),
        "webhook-retry" => env!("CARGO_BIN_EXE_webhook-retry"),
        other => panic!("no webhook binary {other}"),
    };
    PathBuf::from(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_interleaved_deliveries_through_four_processes_each_end_every_account_as_its_events_in_order(
) {
    let moto = std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the project's test command (scripts/test.sh), \
         which starts the DynamoDB/Secrets Manager emulator",
    );
    let log_dir = std::env::var("TEST_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir())
        .join("burst-small");
    let config = Config {
        accounts: 20,
        deliveries: 200,
        duplicate_percent: 10,
        seed: 18,
        k: 4,
        concurrency: 40,
        moto,
        events_dir: shipped_events(),
        log_dir,
    };
    assert!(Path::new(&config.events_dir).is_dir());

    let report = run(&config, binary).await.expect("the burst runs");

    assert!(
        report.verdict.passed(),
        "inconsistent: {:#?}",
        report.verdict.failures
    );
    assert_eq!(report.deliveries, 200);
    assert_eq!(report.verdict.accounts, 20);
    assert_eq!(report.verdict.events, 180, "every distinct event checked");
    let answered = |a: &str| report.answers.get(a).copied().unwrap_or(0);
    assert_eq!(
        answered("processed") + answered("stale") + answered("accepted"),
        180,
        "each distinct event handled once (a 202 then by the retry sweep): {:?}",
        report.answers
    );
    assert_eq!(answered("duplicate"), 20, "{:?}", report.answers);
    assert!(report.verdict.audit_rows > 0 && report.verdict.pushes > 0);
    println!(
        "burst of 200 over {} processes: {:?} ({} applied by the retry sweep); {} audit rows, {} pushes; {} CAS conflicts, {} re-reads, {} 409s",
        report.processes,
        report.answers,
        report.swept.applied,
        report.verdict.audit_rows,
        report.verdict.pushes,
        report.cas_conflicts,
        report.re_reads,
        report.status_409
    );
}
