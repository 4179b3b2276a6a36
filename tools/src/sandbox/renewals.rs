//! Time-driven and recovery transitions: renewals and period ends when the
//! clock passes them, and a past-due subscription paid after all.

use super::lifecycle::Refusal;
use super::model::{Emitted, State, SubStatus};
use time::OffsetDateTime;

/// Most renewals one clock advance runs per subscription (a year of days).
const MAX_CYCLES: usize = 400;

impl State {
    /// A past-due subscription paid after all (the portal's "Pay now"): a
    /// new period from now; `subscription.active` + `order.paid`.
    pub fn recover(&mut self, id: &str, now: OffsetDateTime) -> Result<Vec<Emitted>, Refusal> {
        let at = self.stamp(now);
        let s = self
            .subscriptions
            .get_mut(id)
            .ok_or(Refusal::NotFound("subscription"))?;
        if s.status != SubStatus::PastDue {
            return Err(Refusal::NotPermitted(format!(
                "the subscription is {}, not past_due",
                s.status.as_str()
            )));
        }
        s.status = SubStatus::Active;
        s.current_period_start = at;
        s.current_period_end = Some(s.recurring_interval.add(at, 1));
        s.modified_at = Some(at);
        let amount = s.amount;
        let mut events: Vec<Emitted> = self
            .emit_subscription("subscription.active", id)
            .into_iter()
            .collect();
        events.extend(self.paid_order(id, "subscription_cycle", amount, at));
        Ok(events)
    }

    /// Everything due at `now`: renewals (`cycled` + `updated` +
    /// `order.paid`, or `past_due` when the charge fails) and period ends
    /// of canceling subscriptions (`updated` + `revoked`).
    pub fn run_due(&mut self, now: OffsetDateTime) -> Vec<Emitted> {
        self.expire_checkouts(now);
        let ids: Vec<String> = self.subscriptions.keys().cloned().collect();
        let mut events = Vec::new();
        for id in ids {
            for _ in 0..MAX_CYCLES {
                let due = self.subscriptions.get(&id).is_some_and(|s| {
                    s.status.is_live() && s.current_period_end.is_some_and(|end| end <= now)
                });
                if !due {
                    break;
                }
                events.extend(self.period_end(&id, now));
            }
        }
        events
    }

    fn period_end(&mut self, id: &str, now: OffsetDateTime) -> Vec<Emitted> {
        let at = self.stamp(now);
        let global_failure = self.fail_next_renewals > 0;
        let Some(s) = self.subscriptions.get_mut(id) else {
            return Vec::new();
        };
        let Some(end) = s.current_period_end else {
            return Vec::new();
        };
        s.modified_at = Some(at);
        if s.cancel_at_period_end {
            s.status = SubStatus::Canceled;
            s.ended_at = Some(end);
            return ["subscription.updated", "subscription.revoked"]
                .into_iter()
                .filter_map(|t| self.emit_subscription(t, id))
                .collect();
        }
        let own_failure = s.fail_next_renewal;
        if own_failure || global_failure {
            s.fail_next_renewal = false;
            s.status = SubStatus::PastDue;
            if !own_failure {
                self.fail_next_renewals -= 1;
            }
            return self
                .emit_subscription("subscription.past_due", id)
                .into_iter()
                .collect();
        }
        s.status = SubStatus::Active;
        s.current_period_start = end;
        s.current_period_end = Some(s.recurring_interval.add(end, 1));
        let amount = s.amount;
        let mut events: Vec<Emitted> = ["subscription.cycled", "subscription.updated"]
            .into_iter()
            .filter_map(|t| self.emit_subscription(t, id))
            .collect();
        events.extend(self.paid_order(id, "subscription_cycle", amount, at));
        events
    }
}
