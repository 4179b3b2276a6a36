//! The scale harness (tools/src/scale, issue 18) at CI size for the admin
//! CLI: `reconcile --all` over 200 subscribers (a tenth drifted) and
//! `migrate-paypal` of 200 rows, the compiled binary against the Polo
//! sandbox with a steady rate limit low enough that the CLI meets 429 +
//! `Retry-After` and must wait them out. Correctness only — every account
//! reconciled, exactly the drifted ones changed and pushed, every row
//! migrated with one Polo customer each; the figures are
//! scripts/scale.sh's, never asserted here.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tools::scale::jobs::{measure, Job, Setup};
use tools::scale::world::Options;

const ACCOUNTS: usize = 200;

fn setup() -> Setup {
    Setup {
        bin_dir: Path::new(env!("CARGO_BIN_EXE_admin"))
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default(),
        world: Options {
            // Below what the CLI asks for: it meets the limit.
            polo_rps: Some(40),
            push_latency: Duration::ZERO,
            moto: None,
        },
        timeout: Duration::from_secs(55),
        log_dir: std::env::var("TEST_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| std::env::temp_dir()),
    }
}

fn rate_limited(calls: &std::collections::BTreeMap<(String, String), u64>) -> u64 {
    calls
        .get(&("polo".to_owned(), "answered 429".to_owned()))
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_all_repairs_exactly_the_drifted_accounts_under_polos_rate_limit() {
    let measured = measure(Job::Reconcile, ACCOUNTS, &setup())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // measure() checked: all 200 reconciled, the 20 drifted changed and
    // pushed, nothing failed although Polo answered 429s.
    assert_eq!(measured.work, ACCOUNTS / 10);
    assert!(rate_limited(&measured.calls) > 0, "{:?}", measured.calls);
    assert_eq!(measured.run.answers[0]["failed"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_paypal_migrates_every_row_once_under_polos_rate_limit() {
    let measured = measure(Job::MigratePaypal, ACCOUNTS, &setup())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // measure() checked: every row migrated, one Polo customer per row.
    assert_eq!(measured.work, ACCOUNTS);
    assert!(rate_limited(&measured.calls) > 0, "{:?}", measured.calls);
    let created = measured.calls[&("polo".to_owned(), "POST customers/".to_owned())];
    assert!(created >= ACCOUNTS as u64, "{:?}", measured.calls);
}
