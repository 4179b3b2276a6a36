//! The ONE transition: `apply(current, snapshot, now, policy)`. State comes
//! from the subscription snapshot, never from the event type; ordering comes
//! from the per-subscription watermark, never from arrival order. So any
//! delivery order of the same snapshots, with any duplicates, ends in the
//! same account.

use super::account::{
    AccountBilling, BillingStatus, Entitlement, KnownSubscription, PaypalLegacy,
    PendingPaypalCancellation, Provider, SubscriptionSnapshot,
};
use super::ids::CustomerId;
use super::plan::PlanTier;
use time::{Duration, OffsetDateTime};

/// Grace periods (design.md "Lifecycle rules").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Keeps a renewing account entitled when the renewal lands after the period end.
    pub renewal_grace: Duration,
    /// Access kept after a failed renewal (default none).
    pub past_due_grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            renewal_grace: Duration::hours(24),
            past_due_grace: Duration::ZERO,
        }
    }
}

/// What applying a snapshot decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write this new state (its version is the current one plus one).
    Apply(Box<Applied>),
    /// Nothing changes (a re-apply of what is already there).
    Unchanged,
    /// Older than what the account already holds for this subscription.
    Stale {
        held: OffsetDateTime,
        received: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub next: AccountBilling,
    /// The desired entitlement differs from the current state's.
    pub entitlement_changed: bool,
    /// Two or more subscriptions grant access at once: alarm, keep the rule.
    pub duplicate_subscriptions: bool,
    /// This change queued the legacy PayPal subscription for cancellation.
    pub paypal_cancellation_queued: bool,
}

/// Applies a Polo subscription snapshot to an account.
pub fn apply(
    current: &AccountBilling,
    snapshot: &SubscriptionSnapshot,
    now: OffsetDateTime,
    policy: &Policy,
) -> Decision {
    if let Some(known) = current.subscription(&snapshot.id) {
        if snapshot.watermark < known.watermark {
            return Decision::Stale {
                held: known.watermark,
                received: snapshot.watermark,
            };
        }
    }
    let mut next = current.clone();
    let entry = known_subscription(snapshot, policy);
    match next.subscriptions.iter_mut().find(|s| s.id == entry.id) {
        Some(existing) => *existing = entry,
        None => next.subscriptions.push(entry),
    }
    next.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    next.polo_customer_id = Some(snapshot.customer_id.clone());
    finish(current, next, now)
}

/// Re-derives the account at `now` with no new snapshot: entitlement that
/// ran out without a webhook (the scheduled reconcile's safety net).
pub fn refresh(current: &AccountBilling, now: OffsetDateTime) -> Decision {
    finish(current, current.clone(), now)
}

/// Why an account cannot be marked as a PayPal subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MigrationRefusal {
    /// A Polo subscription already grants access: PayPal must not take over.
    #[error("an entitled Polo subscription exists")]
    AlreadyOnPolo,
}

/// Marks an account as a not-yet-migrated PayPal subscriber (the PayPal
/// migration): it keeps `legacy.tier` until `legacy.paid_through`, and its
/// Polo customer is recorded so its checkout links to it. Marking it again
/// with the same data changes nothing.
pub fn mark_paypal(
    current: &AccountBilling,
    legacy: PaypalLegacy,
    customer: CustomerId,
    now: OffsetDateTime,
) -> Result<Decision, MigrationRefusal> {
    if current.entitled_on_polo(now) {
        return Err(MigrationRefusal::AlreadyOnPolo);
    }
    let mut next = current.clone();
    next.provider = Provider::Paypal;
    next.paypal = Some(legacy);
    next.polo_customer_id.get_or_insert(customer);
    Ok(finish(current, next, now))
}

fn finish(current: &AccountBilling, mut next: AccountBilling, now: OffsetDateTime) -> Decision {
    derive(&mut next, now);
    if next.desired_entitlement != current.desired_entitlement {
        next.entitlement_changed_at = Some(now);
    }
    if next == *current {
        return Decision::Unchanged;
    }
    next.version = current.version.saturating_add(1);
    let live = next
        .subscriptions
        .iter()
        .filter(|s| s.entitled(now))
        .count();
    Decision::Apply(Box::new(Applied {
        entitlement_changed: next.desired_entitlement != current.desired_entitlement,
        duplicate_subscriptions: live > 1,
        paypal_cancellation_queued: next.pending_paypal_cancellation.is_some()
            && current.pending_paypal_cancellation.is_none(),
        next,
    }))
}

/// `end` plus a grace period. Snapshot dates are range-checked where they
/// are parsed, so this cannot overflow; if it ever did, the access would end
/// at `end` itself rather than panic a handler.
fn with_grace(end: OffsetDateTime, grace: Duration) -> OffsetDateTime {
    end.checked_add(grace).unwrap_or(end)
}

fn known_subscription(s: &SubscriptionSnapshot, policy: &Policy) -> KnownSubscription {
    let entitled_until = match s.status {
        BillingStatus::Trial => s
            .trial_end
            .or(s.current_period_end)
            .map(|end| with_grace(end, policy.renewal_grace)),
        BillingStatus::Active => s.current_period_end.map(|end| {
            if s.cancel_at_period_end {
                end
            } else {
                with_grace(end, policy.renewal_grace)
            }
        }),
        BillingStatus::PastDue if policy.past_due_grace > Duration::ZERO => Some(with_grace(
            s.current_period_end.unwrap_or(s.watermark),
            policy.past_due_grace,
        )),
        _ => None,
    };
    KnownSubscription {
        id: s.id.clone(),
        product_id: s.product_id.clone(),
        tier: s.tier,
        status: s.status,
        watermark: s.watermark,
        started_at: s.started_at,
        current_period_end: s.current_period_end,
        trial_end: s.trial_end,
        cancel_at_period_end: s.cancel_at_period_end,
        entitled_until,
    }
}

/// The account's current subscription: entitled first, then highest tier,
/// then latest start (then id, so that the choice never depends on order).
fn choose(subscriptions: &[KnownSubscription], now: OffsetDateTime) -> Option<&KnownSubscription> {
    subscriptions.iter().max_by_key(|s| {
        (
            s.entitled(now),
            s.tier,
            s.started_at.unwrap_or(s.watermark),
            &s.id,
        )
    })
}

/// The fields of an account that follow from its provider's state: one
/// value per provider, so no branch can forget to set one of them.
struct Derived {
    plan_tier: PlanTier,
    billing_status: BillingStatus,
    premium_expires_at: Option<OffsetDateTime>,
    renews_at: Option<OffsetDateTime>,
    cancel_at_period_end: bool,
    trial_ends_at: Option<OffsetDateTime>,
    desired_entitlement: Entitlement,
}

impl Derived {
    /// No subscription: free, nothing issued.
    const FREE: Self = Self {
        plan_tier: PlanTier::Free,
        billing_status: BillingStatus::None,
        premium_expires_at: None,
        renews_at: None,
        cancel_at_period_end: false,
        trial_ends_at: None,
        desired_entitlement: Entitlement::NONE,
    };

    /// A legacy PayPal subscriber: paid through a date, never renewed here.
    fn paypal(paypal: &PaypalLegacy, now: OffsetDateTime) -> Self {
        let entitled = now < paypal.paid_through;
        Self {
            plan_tier: if entitled {
                paypal.tier
            } else {
                PlanTier::Free
            },
            billing_status: if entitled {
                BillingStatus::Active
            } else {
                BillingStatus::None
            },
            premium_expires_at: Some(paypal.paid_through),
            renews_at: None,
            cancel_at_period_end: false,
            trial_ends_at: None,
            desired_entitlement: if entitled {
                Entitlement {
                    entitled: true,
                    tier: paypal.tier,
                    expires_at: Some(paypal.paid_through),
                }
            } else {
                Entitlement::NONE
            },
        }
    }

    /// The account's current Polo subscription, by design.md's lifecycle table.
    fn polo(s: &KnownSubscription, now: OffsetDateTime) -> Self {
        Self {
            plan_tier: match s.status {
                BillingStatus::Canceled | BillingStatus::None => PlanTier::Free,
                _ => s.tier,
            },
            billing_status: s.status,
            premium_expires_at: match s.status {
                BillingStatus::Trial => s.trial_end.or(s.current_period_end),
                BillingStatus::Canceled | BillingStatus::None => None,
                _ => s.current_period_end,
            },
            renews_at: match s.status {
                BillingStatus::Trial if !s.cancel_at_period_end => {
                    s.trial_end.or(s.current_period_end)
                }
                BillingStatus::Active if !s.cancel_at_period_end => s.current_period_end,
                _ => None,
            },
            cancel_at_period_end: s.cancel_at_period_end,
            trial_ends_at: match s.status {
                BillingStatus::Trial => s.trial_end,
                _ => None,
            },
            desired_entitlement: if s.entitled(now) {
                Entitlement {
                    entitled: true,
                    tier: s.tier,
                    expires_at: s.entitled_until,
                }
            } else {
                Entitlement::NONE
            },
        }
    }

    fn set_on(self, account: &mut AccountBilling) {
        account.plan_tier = self.plan_tier;
        account.billing_status = self.billing_status;
        account.premium_expires_at = self.premium_expires_at;
        account.renews_at = self.renews_at;
        account.cancel_at_period_end = self.cancel_at_period_end;
        account.trial_ends_at = self.trial_ends_at;
        account.desired_entitlement = self.desired_entitlement;
    }
}

fn derive(next: &mut AccountBilling, now: OffsetDateTime) {
    let current = choose(&next.subscriptions, now).cloned();
    next.current_subscription_id = current.as_ref().map(|s| s.id.clone());
    let polo_entitled = current.as_ref().is_some_and(|s| s.entitled(now));

    // A legacy PayPal subscriber moves to Polo the moment a Polo
    // subscription grants access; its PayPal subscription is then queued for
    // cancellation so it is never charged twice.
    if next.provider == Provider::Paypal && polo_entitled {
        next.provider = Provider::Polo;
        if let Some(paypal) = next.paypal.take() {
            if next.pending_paypal_cancellation.is_none() {
                next.pending_paypal_cancellation = Some(PendingPaypalCancellation {
                    subscription_id: paypal.subscription_id,
                    queued_at: now,
                    attempts: 0,
                });
            }
        }
    }

    let derived = match (&next.provider, &next.paypal, &current) {
        (Provider::Paypal, Some(paypal), _) => Derived::paypal(paypal, now),
        (_, _, Some(s)) => Derived::polo(s, now),
        (_, _, None) => Derived::FREE,
    };
    derived.set_on(next);
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
