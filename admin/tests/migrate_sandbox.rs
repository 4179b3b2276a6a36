//! `admin migrate-paypal` as ops runs it: the compiled binary against the
//! Polo sandbox (customers by natural key, Polo's 409 and 429 shapes), the
//! account store behind the Convex stand-in (signed HTTP) and a
//! provisioning receiver. One run is interrupted with Ctrl-C and then
//! killed outright (SIGKILL) mid-run before a rerun finishes it; it must
//! end with no duplicate customer and the report of an uninterrupted run.

mod support;

use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId, PlanTier, Provider};
use billing::provisioning::InMemoryProvisioner;
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::cli::AdminEnv;
use support::{account_name, export, BAD, CANCELLED, MIGRATED, ROWS, UNKNOWN};
use tools::convex_stub::ConvexStub;
use tools::local::{LOCAL_CONVEX_SECRET, LOCAL_PROVISIONING_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;
use tools::sandbox::faults::Fault;
use tools::sandbox::launch::{on_loopback, SandboxOptions};
use tools::sandbox::Sandbox;

/// One Polo sandbox and one account store, as a fresh environment.
struct World {
    sandbox: Arc<Sandbox>,
    accounts: Arc<InMemoryAccountStore>,
    convex_url: String,
    provisioning_url: String,
}

async fn world() -> World {
    let sandbox = on_loopback(SandboxOptions::local(None)).await.unwrap();
    let accounts = Arc::new(InMemoryAccountStore::default());
    for n in 0..ROWS - UNKNOWN {
        accounts.insert(AccountBilling::new(
            AccountId::parse(&account_name(n)).unwrap(),
        ));
    }
    let convex = Arc::new(ConvexStub::new(accounts.clone(), LOCAL_CONVEX_SECRET).unwrap());
    let receiver = Arc::new(
        ProvisioningReceiver::new(
            Arc::new(InMemoryProvisioner::default()),
            LOCAL_PROVISIONING_SECRET,
        )
        .unwrap(),
    );
    World {
        sandbox,
        accounts,
        convex_url: tools::serve_on_loopback(convex.router()).await.unwrap(),
        provisioning_url: format!(
            "{}/",
            tools::serve_on_loopback(receiver.router()).await.unwrap()
        ),
    }
}

struct Paths {
    export: PathBuf,
    report: PathBuf,
    journal: PathBuf,
}

fn paths(dir: &Path, export: &Path, name: &str) -> Paths {
    Paths {
        export: export.to_owned(),
        report: dir.join(format!("{name}-report.csv")),
        journal: dir.join(format!("{name}.journal.jsonl")),
    }
}

impl World {
    fn admin(&self) -> AdminEnv {
        AdminEnv {
            polo_url: self.sandbox.public_url().to_owned(),
            convex_url: self.convex_url.clone(),
            provisioning_url: self.provisioning_url.clone(),
            dynamodb: None,
        }
    }
}

fn migrate_args(paths: &Paths, concurrency: u8) -> Vec<String> {
    let path = |p: &PathBuf| p.display().to_string();
    vec![
        "migrate-paypal".into(),
        path(&paths.export),
        "--report".into(),
        path(&paths.report),
        "--journal".into(),
        path(&paths.journal),
        "--concurrency".into(),
        concurrency.to_string(),
    ]
}

fn migrate(world: &World, paths: &Paths, concurrency: u8) -> tokio::process::Command {
    let args = migrate_args(paths, concurrency);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    world.admin().command(&args)
}

fn journaled(paths: &Paths) -> usize {
    std::fs::read_to_string(&paths.journal)
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

async fn run_to_end(world: &World, paths: &Paths, concurrency: u8) -> (ExitStatus, Value) {
    let args = migrate_args(paths, concurrency);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    world.admin().run(&args).await
}

enum Stop {
    CtrlC,
    Kill,
}

/// Starts a run and stops it once `rows` rows are journaled.
async fn run_and_stop_after(world: &World, paths: &Paths, rows: usize, stop: Stop) -> ExitStatus {
    let mut child = migrate(world, paths, 2).spawn().unwrap();
    let started = Instant::now();
    while journaled(paths) < rows {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never journaled {rows} rows"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be stopped"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    match stop {
        Stop::CtrlC => {
            let pid = child.id().unwrap().to_string();
            let sent = std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap();
            assert!(sent.success());
        }
        Stop::Kill => child.start_kill().unwrap(),
    }
    child.wait().await.unwrap()
}

fn customers_by_account(world: &World) -> BTreeMap<String, Vec<String>> {
    world.sandbox.with_state(|state, _| {
        let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for customer in state.customers.values() {
            let key = customer.external_id.clone().unwrap_or_default();
            by_account.entry(key).or_default().push(customer.id.clone());
        }
        by_account
    })
}

/// Every account as stored, with its Polo customer id replaced by whether
/// it is the sandbox customer of that very account (ids differ per world),
/// and without the wall-clock times its entitlement changed and its push
/// intent was recorded.
fn accounts_projection(world: &World) -> Vec<(AccountBilling, bool)> {
    let customers = customers_by_account(world);
    world
        .accounts
        .all()
        .into_iter()
        .map(|mut account| {
            account.entitlement_changed_at = None;
            if let Some(intent) = account.provisioning_intent.as_mut() {
                intent.at = time::OffsetDateTime::UNIX_EPOCH;
            }
            let own = account.polo_customer_id.take().is_some_and(|id| {
                customers
                    .get(account.account_id.as_str())
                    .is_some_and(|ids| ids == &vec![id.as_str().to_owned()])
            });
            (account, own)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_interrupted_then_killed_midway_and_rerun_matches_an_uninterrupted_one() {
    // Arrange: one export, two fresh environments.
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path(), time::OffsetDateTime::now_utc());
    let straight = world().await;
    let resumed = world().await;
    let straight_paths = paths(dir.path(), &input, "straight");
    let resumed_paths = paths(dir.path(), &input, "resumed");

    // Act: the uninterrupted run; then Ctrl-C at 250 rows, SIGKILL at 600,
    // and a rerun through three rate limits (429, Retry-After: 1).
    let (status, summary) = run_to_end(&straight, &straight_paths, 8).await;
    assert_eq!(status.code(), Some(0), "{summary}");
    assert_eq!(summary["outcomes"]["migrated"], MIGRATED);
    let interrupted = run_and_stop_after(&resumed, &resumed_paths, 250, Stop::CtrlC).await;
    let after_interrupt = journaled(&resumed_paths);
    let killed = run_and_stop_after(&resumed, &resumed_paths, 600, Stop::Kill).await;
    let after_kill = journaled(&resumed_paths);
    resumed
        .sandbox
        .faults()
        .arm(Fault::RateLimit { retry_after: 1 }, 3);
    let (status, last) = run_to_end(&resumed, &resumed_paths, 8).await;

    // Assert: each stop really stopped the run midway...
    assert_eq!(interrupted.code(), Some(3), "Ctrl-C exits 3 (rerun)");
    assert!(after_interrupt < ROWS);
    assert_eq!(killed.signal(), Some(9), "the second run was killed");
    assert!(after_interrupt < after_kill && after_kill < ROWS);
    // ...the rerun finished everything else, through the rate limits...
    assert_eq!(status.code(), Some(0), "{last}");
    assert_eq!(last["resumed"], serde_json::json!(after_kill));
    assert_eq!(last["outcomes"]["migrated"], MIGRATED);
    assert_eq!(last["outcomes"]["invalid"], BAD);
    assert_eq!(last["outcomes"]["skipped_inactive"], CANCELLED);
    assert_eq!(last["outcomes"]["unknown_account"], UNKNOWN);
    assert!(resumed.sandbox.faults().pending().is_empty());
    // ...with one customer per migrated account, in both worlds...
    for world in [&straight, &resumed] {
        let customers = customers_by_account(world);
        assert_eq!(customers.len(), MIGRATED);
        assert!(customers.values().all(|ids| ids.len() == 1));
    }
    // ...and the same report and accounts as the uninterrupted run.
    assert_eq!(
        std::fs::read_to_string(&resumed_paths.report).unwrap(),
        std::fs::read_to_string(&straight_paths.report).unwrap()
    );
    let projected = accounts_projection(&resumed);
    assert_eq!(projected, accounts_projection(&straight));
    let migrated = projected
        .iter()
        .filter(|(account, own)| *own && account.provider == Provider::Paypal)
        .count();
    assert_eq!(migrated, MIGRATED);
    let pro = &projected[1].0;
    assert_eq!(
        (pro.plan_tier, pro.provider),
        (PlanTier::Pro, Provider::Paypal)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_creates_no_customer_changes_no_account_and_reports_what_would_happen() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path(), time::OffsetDateTime::now_utc());
    let world = world().await;
    let paths = paths(dir.path(), &input, "dry");
    let before = world.accounts.all();
    let mut args = migrate_args(&paths, 8);
    args.push("--dry-run".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let (status, summary) = world.admin().run(&args).await;

    assert_eq!(status.code(), Some(0), "{summary}");
    assert_eq!(summary["outcomes"]["would_migrate"], MIGRATED);
    assert_eq!(summary["outcomes"]["invalid"], BAD);
    assert!(
        customers_by_account(&world).is_empty(),
        "no customer created"
    );
    assert_eq!(world.accounts.all(), before);
    assert!(!paths.journal.exists(), "a dry run journals nothing");
    let report = std::fs::read_to_string(&paths.report).unwrap();
    assert_eq!(
        report.lines().count(),
        ROWS + 1,
        "a line per row and the header"
    );
}
