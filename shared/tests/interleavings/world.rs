//! One account, one orchestrator, and the operations that race on them:
//! the webhook snapshots of a whole subscription lifecycle (what the
//! webhook handlers, the checkout confirmation, plan change and reconcile
//! all apply through `AccountUpdater::apply_snapshot`), the scheduled
//! reconcile's re-derivation (`refresh`) and `provisioning-sync`.

use super::ports::{GatedAccounts, GatedOrchestrator, History};
use super::scheduler::{OpFuture, Scheduler};
use billing::accounts::InMemoryAccountStore;
use billing::clock::ManualClock;
use billing::domain::{
    AccountBilling, AccountId, BillingStatus, CustomerId, Decision, Entitlement, PlanTier, Policy,
    ProductId, SubscriptionId, SubscriptionSnapshot,
};
use billing::handlers::provisioning_sync;
use billing::ports::Ports;
use billing::provisioning::{InMemoryProvisioner, Provisioner, ProvisioningRequest};
use billing::telemetry::InMemoryMetrics;
use billing::updater::{AccountUpdater, Cause};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const NOW: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);
const ACCOUNT: &str = "acct_1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// subscription.created, trialing (entitled).
    Trial,
    /// subscription.active (entitled, pro).
    Activate,
    /// subscription.cycled / order.paid: a new period (entitled, new expiry).
    Renew,
    /// A plan change to starter (entitled, another tier).
    PlanChange,
    /// subscription.past_due (not entitled).
    PastDue,
    /// subscription.revoked (canceled, free).
    Revoke,
    /// The scheduled reconcile re-deriving the account.
    Reconcile,
    /// provisioning-sync.
    Sync,
}

impl Op {
    pub const ALL: [Op; 8] = [
        Op::Trial,
        Op::Activate,
        Op::Renew,
        Op::PlanChange,
        Op::PastDue,
        Op::Revoke,
        Op::Reconcile,
        Op::Sync,
    ];

    fn snapshot(self) -> Option<SubscriptionSnapshot> {
        let at = |minutes: i64| NOW - Duration::days(1) + Duration::minutes(minutes);
        let (status, tier, product, period_end, watermark) = match self {
            Op::Trial => (
                BillingStatus::Trial,
                PlanTier::Pro,
                "prod_pro",
                datetime!(2026-11-21 12:00 UTC),
                at(1),
            ),
            Op::Activate => (
                BillingStatus::Active,
                PlanTier::Pro,
                "prod_pro",
                datetime!(2026-12-14 12:00 UTC),
                at(2),
            ),
            Op::Renew => (
                BillingStatus::Active,
                PlanTier::Pro,
                "prod_pro",
                datetime!(2027-01-14 12:00 UTC),
                at(3),
            ),
            Op::PlanChange => (
                BillingStatus::Active,
                PlanTier::Starter,
                "prod_starter",
                datetime!(2027-01-14 12:00 UTC),
                at(4),
            ),
            Op::PastDue => (
                BillingStatus::PastDue,
                PlanTier::Starter,
                "prod_starter",
                datetime!(2027-01-14 12:00 UTC),
                at(5),
            ),
            Op::Revoke => (
                BillingStatus::Canceled,
                PlanTier::Starter,
                "prod_starter",
                datetime!(2027-01-14 12:00 UTC),
                at(6),
            ),
            Op::Reconcile | Op::Sync => return None,
        };
        Some(SubscriptionSnapshot {
            id: SubscriptionId::parse("sub_1").unwrap(),
            account_id: AccountId::parse(ACCOUNT).unwrap(),
            customer_id: CustomerId::parse("cus_1").unwrap(),
            product_id: ProductId::parse(product).unwrap(),
            tier,
            status,
            current_period_end: Some(period_end),
            trial_end: (status == BillingStatus::Trial).then_some(period_end),
            started_at: Some(at(0)),
            cancel_at_period_end: false,
            watermark,
        })
    }
}

/// The account's state before the operations start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Signed up, never billed.
    Fresh,
    /// Active on pro, its credentials issued and acknowledged.
    Provisioned,
    /// Active on pro, written before the push intent existed and never
    /// pushed: a push is needed and no intent is recorded (the path where
    /// the intent is written on its own).
    Unpushed,
}

impl Start {
    pub const ALL: [Start; 3] = [Start::Fresh, Start::Provisioned, Start::Unpushed];
}

pub struct World {
    pub accounts: Arc<InMemoryAccountStore>,
    pub orchestrator: Arc<InMemoryProvisioner>,
    pub clock: Arc<ManualClock>,
    pub metrics: Arc<InMemoryMetrics>,
    pub history: History,
}

/// Runs a future whose every await is ready at once (the un-gated
/// in-memory ports never wait).
pub fn now_or_never<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an un-gated in-memory call waited"),
    }
}

fn account_id() -> AccountId {
    AccountId::parse(ACCOUNT).unwrap()
}

fn updater(
    world: &World,
    accounts: Arc<dyn billing::accounts::AccountStore>,
    provisioner: Arc<dyn Provisioner>,
) -> Arc<AccountUpdater> {
    Ports::new(
        accounts,
        provisioner,
        world.clock.clone(),
        world.metrics.clone(),
    )
    .updater()
}

impl World {
    pub fn new(start: Start) -> Self {
        let world = Self {
            accounts: Arc::new(InMemoryAccountStore::default()),
            orchestrator: Arc::new(InMemoryProvisioner::default()),
            clock: Arc::new(ManualClock::new(NOW)),
            metrics: Arc::new(InMemoryMetrics::default()),
            history: Default::default(),
        };
        let fresh = AccountBilling::new(account_id());
        world
            .history
            .lock()
            .unwrap()
            .insert(0, fresh.desired_entitlement);
        world.accounts.insert(fresh);
        if start == Start::Unpushed {
            let snapshot = Op::Activate.snapshot().unwrap();
            let Decision::Apply(applied) =
                billing::domain::apply(&world.account(), &snapshot, NOW, &Policy::default())
            else {
                panic!("activating a fresh account changes it")
            };
            assert!(applied.next.needs_push() && applied.next.provisioning_intent.is_none());
            let mut h = world.history.lock().unwrap();
            h.insert(applied.next.version, applied.next.desired_entitlement);
            world.accounts.insert(applied.next);
        }
        if start == Start::Provisioned {
            let direct = updater(&world, world.accounts.clone(), world.orchestrator.clone());
            let cause = cause("seed");
            let snapshot = Op::Activate.snapshot().unwrap();
            now_or_never(direct.apply_snapshot(&snapshot, &cause, NOW + Duration::seconds(9)))
                .unwrap();
            let seeded = world.account();
            assert!(!seeded.needs_push(), "the seed is acknowledged");
            let mut h = world.history.lock().unwrap();
            for v in 1..=seeded.version {
                h.insert(v, seeded.desired_entitlement);
            }
        }
        world
    }

    pub fn account(&self) -> AccountBilling {
        self.accounts.account(&account_id()).unwrap()
    }

    /// Operation `op`, the `index`-th of the run, over its own gated ports.
    pub fn op<'a>(&'a self, scheduler: &Arc<Scheduler>, index: usize, op: Op) -> OpFuture<'a> {
        let accounts = self.recording(Some(scheduler.clone()), index);
        let orchestrator = Arc::new(GatedOrchestrator {
            inner: self.orchestrator.clone(),
            scheduler: scheduler.clone(),
            op: index,
        });
        let updater = updater(self, accounts.clone(), orchestrator);
        let deadline = NOW + Duration::seconds(9);
        let cause = cause(&format!("op{index}"));
        Box::pin(async move {
            match op {
                Op::Reconcile => {
                    let _ = updater.refresh(&account_id(), &cause, deadline).await;
                }
                Op::Sync => {
                    let _ = provisioning_sync::run(
                        &updater,
                        &*accounts,
                        &*self.clock,
                        &*self.metrics,
                        "explorer",
                        deadline,
                    )
                    .await;
                }
                snapshot_op => {
                    let snapshot = snapshot_op.snapshot().unwrap();
                    let _ = updater.apply_snapshot(&snapshot, &cause, deadline).await;
                }
            }
        })
    }

    /// The account store as operation `index` sees it: behind the gates
    /// (or none), every committed version recorded in the history.
    fn recording(&self, scheduler: Option<Arc<Scheduler>>, index: usize) -> Arc<GatedAccounts> {
        Arc::new(GatedAccounts {
            inner: self.accounts.clone(),
            scheduler,
            op: index,
            history: self.history.clone(),
        })
    }

    /// One `provisioning-sync` run with every dependency healthy.
    pub fn sync(&self) {
        let accounts = self.recording(None, 0);
        let direct = updater(self, accounts.clone(), self.orchestrator.clone());
        now_or_never(provisioning_sync::run(
            &direct,
            &*accounts,
            &*self.clock,
            &*self.metrics,
            "final",
            NOW + Duration::seconds(50),
        ))
        .unwrap();
    }

    /// The invariant after the final sync: the orchestrator holds the
    /// account's desired entitlement, nothing is left to push, and every
    /// push carried the desired entitlement of the version it named.
    pub fn check(&self) -> Result<(), String> {
        let account = self.account();
        let held = self
            .orchestrator
            .decision(&account_id())
            .map(|d| entitlement_of(&d))
            .unwrap_or(Entitlement::NONE);
        if held != account.desired_entitlement {
            return Err(format!(
                "the orchestrator holds {held:?}, the account wants {:?} (version {})",
                account.desired_entitlement, account.version
            ));
        }
        if account.needs_push() {
            return Err("the account still needs a push after the sync".into());
        }
        let history = self.history.lock().unwrap();
        for push in self.orchestrator.pushes() {
            let committed = history.get(&push.version);
            if committed != Some(&entitlement_of(&push)) {
                return Err(format!(
                    "a push of version {} carried {:?}; that version's desired entitlement was {committed:?}",
                    push.version,
                    entitlement_of(&push)
                ));
            }
        }
        Ok(())
    }
}

fn entitlement_of(request: &ProvisioningRequest) -> Entitlement {
    Entitlement {
        entitled: request.entitled,
        tier: request.tier,
        expires_at: request.expires_at,
    }
}

fn cause(id: &str) -> Cause {
    Cause {
        event_id: id.to_owned(),
        event_type: "explorer".to_owned(),
    }
}
