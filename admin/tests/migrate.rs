//! `migrate-paypal` over the shared crate's ports (in-memory account store,
//! Polo and orchestrator): a generated 1,000-row export with 20 bad rows,
//! an interrupted run resumed to the same report, and a dry run that
//! changes nothing.

mod support;

use admin::migrate::report::Outcome;
use admin::migrate::{self, Options, Ports};
use billing::accounts::InMemoryAccountStore;
use billing::clock::ManualClock;
use billing::domain::{AccountBilling, AccountId, PlanTier, Provider};
use billing::polo::memory::InMemoryPolo;
use billing::provisioning::InMemoryProvisioner;
use billing::telemetry::InMemoryMetrics;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use support::{export, BAD, ROWS};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-26 09:00 UTC);

struct World {
    accounts: Arc<InMemoryAccountStore>,
    polo: Arc<InMemoryPolo>,
    ports: Ports,
}

fn world() -> World {
    let clock = Arc::new(ManualClock::new(NOW));
    let accounts = Arc::new(InMemoryAccountStore::default());
    // Every exported account exists but the last ten (unknown accounts).
    for n in 0..ROWS - 10 {
        accounts.insert(AccountBilling::new(account(n)));
    }
    let polo = Arc::new(InMemoryPolo::default());
    let updater = billing::ports::Ports::new(
        accounts.clone(),
        Arc::new(InMemoryProvisioner::default()),
        clock.clone(),
        Arc::new(InMemoryMetrics::default()),
    )
    .updater();
    World {
        accounts,
        polo: polo.clone(),
        ports: Ports {
            polo,
            updater,
            clock,
        },
    }
}

fn account(n: usize) -> AccountId {
    AccountId::parse(&format!("acct_{n:04}")).unwrap()
}

fn options(dir: &Path, input: &Path, name: &str, dry_run: bool) -> Options {
    Options {
        input: input.to_owned(),
        report: dir.join(format!("{name}-report.csv")),
        journal: dir.join(format!("{name}.journal.jsonl")),
        dry_run,
        concurrency: 8,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_rows_with_twenty_bad_ones_migrate_and_each_bad_row_is_reported_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path(), NOW);
    let w = world();

    let (summary, lines) = migrate::run(
        &w.ports,
        &options(dir.path(), &input, "full", false),
        &|_| {},
        &AtomicBool::new(false),
    )
    .await
    .unwrap();

    assert_eq!(summary.rows, ROWS);
    assert_eq!(summary.count(Outcome::Invalid), BAD);
    assert_eq!(summary.count(Outcome::SkippedInactive), 40);
    assert_eq!(summary.count(Outcome::UnknownAccount), 10);
    let migrated = summary.count(Outcome::Migrated);
    assert_eq!(migrated, ROWS - BAD - 40 - 10);
    assert_eq!(
        w.polo.customers().len(),
        migrated,
        "one customer per migrated row"
    );
    let bad: Vec<u64> = lines
        .iter()
        .filter(|l| l.outcome == Outcome::Invalid)
        .map(|l| l.line)
        .collect();
    assert_eq!(bad.first(), Some(&9), "row 7 is line 9 (header is line 1)");
    let migrated_account = w.accounts.account(&account(1)).unwrap();
    assert_eq!(migrated_account.provider, Provider::Paypal);
    assert_eq!(migrated_account.plan_tier, PlanTier::Pro);
    assert!(migrated_account.desired_entitlement.entitled);
    assert!(migrated_account.polo_customer_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumed_creates_nothing_twice_and_reports_like_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path(), NOW);
    let straight = world();
    migrate::run(
        &straight.ports,
        &options(dir.path(), &input, "straight", false),
        &|_| {},
        &AtomicBool::new(false),
    )
    .await
    .unwrap();
    let resumed = world();
    let stop = AtomicBool::new(false);
    let seen = AtomicUsize::new(0);
    let opts = options(dir.path(), &input, "resumed", false);

    // Ctrl-C after ~400 rows.
    let (first, _) = migrate::run(
        &resumed.ports,
        &opts,
        &|_| {
            if seen.fetch_add(1, Ordering::SeqCst) == 400 {
                stop.store(true, Ordering::SeqCst);
            }
        },
        &stop,
    )
    .await
    .unwrap();
    let customers_after_first = resumed.polo.customers().len();
    let (second, _) = migrate::run(&resumed.ports, &opts, &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();

    assert!(first.interrupted);
    assert!(customers_after_first < resumed.polo.customers().len());
    assert!(!second.interrupted);
    assert!(second.resumed >= 400, "finished rows were skipped");
    assert_eq!(
        resumed.polo.customers().len(),
        straight.polo.customers().len(),
        "no duplicate customers"
    );
    assert_eq!(
        std::fs::read_to_string(&opts.report).unwrap(),
        std::fs::read_to_string(dir.path().join("straight-report.csv")).unwrap(),
        "the final report is the uninterrupted run's"
    );
    // Customer ids are numbered in creation order, which concurrency
    // shuffles; everything else about every account is the same.
    let project = |w: &World| {
        w.accounts
            .all()
            .into_iter()
            .map(|a| {
                let customer = a.polo_customer_id.clone();
                let owner = customer.and_then(|c| {
                    w.polo
                        .customers()
                        .into_iter()
                        .find(|k| k.id == c)
                        .and_then(|k| k.account)
                });
                let mut a = a;
                a.polo_customer_id = None;
                (a, owner)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(project(&resumed), project(&straight));
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_reports_what_would_happen() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path(), NOW);
    let w = world();
    let before = w.accounts.all();
    let opts = options(dir.path(), &input, "dry", true);

    let (summary, _) = migrate::run(&w.ports, &opts, &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();

    assert_eq!(summary.count(Outcome::WouldMigrate), ROWS - BAD - 40 - 10);
    assert_eq!(summary.count(Outcome::Migrated), 0);
    assert_eq!(w.accounts.all(), before);
    assert!(w.polo.customers().is_empty());
    assert!(!opts.journal.exists(), "a dry run journals nothing");
    assert!(opts.report.exists());
}

#[tokio::test]
async fn an_account_already_entitled_on_polo_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path(), NOW);
    let w = world();
    let mut on_polo = w.accounts.account(&account(1)).unwrap();
    on_polo
        .subscriptions
        .push(billing::domain::KnownSubscription {
            id: billing::domain::SubscriptionId::parse("sub_live").unwrap(),
            product_id: billing::domain::ProductId::parse("prod_pro").unwrap(),
            tier: PlanTier::Pro,
            status: billing::domain::BillingStatus::Active,
            watermark: datetime!(2026-11-01 00:00 UTC),
            started_at: None,
            current_period_end: Some(datetime!(2026-12-01 00:00 UTC)),
            trial_end: None,
            cancel_at_period_end: false,
            entitled_until: Some(datetime!(2026-12-02 00:00 UTC)),
        });
    w.accounts.insert(on_polo.clone());

    let (summary, lines) = migrate::run(
        &w.ports,
        &options(dir.path(), &input, "polo", false),
        &|_| {},
        &AtomicBool::new(false),
    )
    .await
    .unwrap();

    assert_eq!(summary.count(Outcome::AlreadyOnPolo), 1);
    let line = lines.iter().find(|l| l.account == "acct_0001").unwrap();
    assert_eq!(line.outcome, Outcome::AlreadyOnPolo);
    assert_eq!(w.accounts.account(&account(1)).unwrap(), on_polo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_line_cut_by_a_crash_mid_write_is_redone_and_the_journal_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let input = export(dir.path(), NOW);
    let w = world();
    let opts = options(dir.path(), &input, "cut", false);
    migrate::run(&w.ports, &opts, &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    let first_report = std::fs::read_to_string(&opts.report).unwrap();
    let journal = std::fs::read_to_string(&opts.journal).unwrap();
    // The crash came while the last entry was being written.
    std::fs::write(&opts.journal, &journal[..journal.len() - 12]).unwrap();

    let (second, _) = migrate::run(&w.ports, &opts, &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    let (third, _) = migrate::run(&w.ports, &opts, &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();

    assert_eq!(second.resumed, ROWS - 1, "only the cut row was redone");
    assert_eq!(third.resumed, ROWS, "the redone row's entry is readable");
    assert_eq!(std::fs::read_to_string(&opts.report).unwrap(), first_report);
    assert_eq!(
        std::fs::read_to_string(&opts.journal)
            .unwrap()
            .lines()
            .count(),
        ROWS
    );
}
