//! The inbox: what becomes of a claimed delivery once its handler has run,
//! for the live intake and the retry sweep alike. Applied → `COMPLETED`;
//! permanently unprocessable → `PARKED`; a transient fault → `PENDING`
//! with a backoff (1 min, doubling, at most an hour) until 24 h after the
//! first receipt, then parked `retries_exhausted`. Once DynamoDB holds the
//! payload we own the retries, so a downstream outage never becomes a
//! failed delivery (Polo disables an endpoint after ten in a row).

use super::{HandleError, Handled};
use crate::idempotency::{Claim, IdempotencyStore, ParkCode, ParkReason};
use crate::telemetry::error_chain;
use time::{Duration, OffsetDateTime};
use tracing::{error, warn};

/// The first retry waits this long; each next one twice as long...
pub const FIRST_RETRY: Duration = Duration::minutes(1);
/// ...up to this.
pub const MAX_BACKOFF: Duration = Duration::hours(1);
/// A record still failing this long after its first receipt is parked.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
/// Longest fault description stored on a record.
const MAX_FAULT_CHARS: usize = 300;

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Applied, unchanged or stale, and recorded `COMPLETED`.
    Done(Handled),
    /// Parked with this reason code (permanent, or retries exhausted).
    Parked(ParkCode),
    /// A transient fault: `PENDING`, retried by the sweep (or a redelivery).
    Deferred,
    /// The outcome could not be written; the record stays `IN_PROGRESS`
    /// with its payload until the lease ends, then the sweep (or Polo's
    /// redelivery) takes it over. Handling is idempotent, so a re-run after
    /// an applied change is harmless.
    Unrecorded,
}

/// When the attempt after `attempts` failed ones is due.
pub fn next_attempt_at(attempts: u32, now: OffsetDateTime) -> OffsetDateTime {
    let doublings = attempts.saturating_sub(1).min(16);
    let delay = FIRST_RETRY
        .checked_mul(1_i32 << doublings)
        .map_or(MAX_BACKOFF, |d| d.min(MAX_BACKOFF));
    now.checked_add(delay).unwrap_or(now)
}

/// Records the outcome of one handled attempt under `claim`.
pub async fn finish(
    store: &dyn IdempotencyStore,
    claim: &Claim,
    result: Result<Handled, HandleError>,
    payload: &[u8],
    now: OffsetDateTime,
) -> Finished {
    match result {
        Ok(handled) => match store.complete(claim, now).await {
            Ok(()) => Finished::Done(handled),
            Err(err) => {
                error!(error = %error_chain(&err), "completion failed after handling; the sweep re-runs it");
                Finished::Unrecorded
            }
        },
        Err(HandleError::Permanent(reason)) => park(store, claim, reason, payload, now).await,
        Err(err @ HandleError::Transient(_)) => {
            let fault = describe(&err);
            let given_up = now - claim.first_received_at >= GIVE_UP_AFTER;
            if given_up {
                let reason = ParkReason::new(
                    ParkCode::RetriesExhausted,
                    format!("transient faults for 24 h; last: {fault}"),
                );
                return park(store, claim, reason, payload, now).await;
            }
            let attempts = claim.attempts.saturating_add(1);
            let next = next_attempt_at(attempts, now);
            match store.defer(claim, &fault, next).await {
                Ok(()) => {
                    warn!(fault = %fault, attempts, next_attempt_at = %next, "transient fault; event kept PENDING for the retry sweep");
                    Finished::Deferred
                }
                Err(store_err) => {
                    error!(fault = %fault, error = %error_chain(&store_err), "could not record the fault; the record's lease hands it to the sweep");
                    Finished::Unrecorded
                }
            }
        }
    }
}

async fn park(
    store: &dyn IdempotencyStore,
    claim: &Claim,
    reason: ParkReason,
    payload: &[u8],
    now: OffsetDateTime,
) -> Finished {
    match store.park_claimed(claim, &reason, payload, now).await {
        Ok(()) => {
            error!(reason = %reason.code, detail = %reason.detail, "event parked");
            Finished::Parked(reason.code)
        }
        Err(err) => {
            error!(error = %error_chain(&err), "parking failed; the sweep re-runs it");
            Finished::Unrecorded
        }
    }
}

/// The fault's cause chain, bounded (it is stored on the record).
fn describe(err: &HandleError) -> String {
    let chain = error_chain(err);
    match chain.char_indices().nth(MAX_FAULT_CHARS) {
        Some((cut, _)) => format!("{}…", &chain[..cut]),
        None => chain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 12:00 UTC);

    #[test]
    fn retries_back_off_from_a_minute_doubling_to_an_hour() {
        let waits: Vec<i64> = (1..=9)
            .map(|n| (next_attempt_at(n, NOW) - NOW).whole_minutes())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn the_backoff_never_overflows_however_many_attempts() {
        assert_eq!(next_attempt_at(u32::MAX, NOW), NOW + MAX_BACKOFF);
        assert_eq!(next_attempt_at(0, NOW), NOW + FIRST_RETRY);
        let last_minute = time::Time::from_hms(23, 59, 30).expect("a valid time");
        let end = OffsetDateTime::new_utc(time::Date::MAX, last_minute);
        assert_eq!(
            next_attempt_at(3, end),
            end,
            "no time past the end of the calendar"
        );
    }
}
