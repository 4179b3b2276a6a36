//! The scale harness (tools/src/scale, issue 18) at CI size: the scheduled
//! jobs' real binaries through the Lambda Runtime API emulator over 200
//! accounts, with an invocation timeout short enough (and an orchestrator
//! slow enough) that neither job can finish in one invocation. Correctness
//! only — every account that needed a push pushed exactly once, every
//! PENDING record drained, and more than one invocation to get there (each
//! job carries on where the last one stopped); the figures are
//! scripts/scale.sh's, never asserted here.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tools::scale::jobs::{measure, Job, Setup};
use tools::scale::world::Options;

const ACCOUNTS: usize = 200;

fn setup(timeout_secs: u64) -> Setup {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_provisioning-sync"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default();
    Setup {
        bin_dir,
        world: Options {
            polo_rps: None,
            // 20 pushes at 150 ms each cannot fit one invocation's budget.
            push_latency: Duration::from_millis(150),
            moto: std::env::var("MOTO_ENDPOINT").ok(),
        },
        timeout: Duration::from_secs(timeout_secs),
        log_dir: std::env::var("TEST_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| std::env::temp_dir()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_sync_pushes_every_unacknowledged_account_across_several_invocations() {
    // 14 s: provisioning-sync keeps 13 s back (the store call's and the
    // PayPal cancellations' reserve), leaving about 1 s of pushes a run.
    let measured = measure(Job::ProvisioningSync, ACCOUNTS, &setup(14))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // measure() checked: every waiting account pushed, none waits now.
    assert_eq!(measured.work, ACCOUNTS / 10);
    assert!(
        measured.run.invocations > 1,
        "one invocation did it all: {:?}",
        measured.run.answers
    );
    // Every run but the last was cut short by its deadline.
    assert!(measured.run.answers[..measured.run.invocations - 1]
        .iter()
        .all(|a| a["outOfTime"] == true || a["notPushed"] != 0));
    // A push answered after its run's deadline is sent again (same
    // version); never more than once again per cut-short run.
    let pushes = measured.calls[&("orchestrator".to_owned(), "POST /".to_owned())];
    let waiting = (ACCOUNTS / 10) as u64;
    assert!(
        (waiting..=waiting + measured.run.invocations as u64).contains(&pushes),
        "{pushes} pushes for {waiting} accounts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retry_drains_every_pending_record_across_several_invocations() {
    // 12 s: a record is claimed only with its 9 s lease inside the
    // deadline less 2 s, leaving about 1 s of claims a run.
    let measured = measure(Job::WebhookRetry, ACCOUNTS, &setup(12))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // measure() checked: every record applied once, its account entitled
    // and acknowledged, one push each.
    assert_eq!(measured.work, ACCOUNTS / 10);
    assert!(
        measured.run.invocations > 1,
        "one invocation did it all: {:?}",
        measured.run.answers
    );
    let claims = measured
        .calls
        .get(&("dynamodb".to_owned(), "UpdateItem".to_owned()))
        .copied()
        .unwrap_or(0);
    assert!(claims >= (ACCOUNTS / 10) as u64, "{:?}", measured.calls);
}
