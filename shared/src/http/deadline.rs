//! The current request's deadline, carried task-locally so that adapters
//! behind narrow ports (an account store's `get`) still bound every call by
//! the Lambda's remaining time without threading it through every signature.

use std::future::Future;
use time::{Duration, OffsetDateTime};

tokio::task_local! {
    static DEADLINE: OffsetDateTime;
}

/// Runs `fut` with `deadline` as the current deadline.
pub async fn scope<F: Future>(deadline: OffsetDateTime, fut: F) -> F::Output {
    DEADLINE.scope(deadline, fut).await
}

/// The Lambda deadline an invocation's context carries (unix milliseconds),
/// as an instant; `None` when there is none (0, as in a hand-built request)
/// or it is out of range. The one ms → time conversion every handler uses.
pub fn lambda_deadline(deadline_ms: u64) -> Option<OffsetDateTime> {
    i128::from(deadline_ms)
        .checked_mul(1_000_000)
        .filter(|_| deadline_ms > 0)
        .and_then(|ns| OffsetDateTime::from_unix_timestamp_nanos(ns).ok())
}

/// The earlier of the current request's deadline and `now + budget`.
pub fn bounded(budget: Duration) -> OffsetDateTime {
    let own = OffsetDateTime::now_utc() + budget;
    DEADLINE.try_with(|d| (*d).min(own)).unwrap_or(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_deadline_in_milliseconds_is_that_instant_and_zero_is_none() {
        let at = lambda_deadline(1_795_557_600_123);

        assert_eq!(
            at.map(|t| t.unix_timestamp_nanos()),
            Some(1_795_557_600_123_000_000)
        );
        assert_eq!(lambda_deadline(0), None);
        assert_eq!(lambda_deadline(u64::MAX), None);
    }
}
