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

/// The earlier of the current request's deadline and `now + budget`.
pub fn bounded(budget: Duration) -> OffsetDateTime {
    let own = OffsetDateTime::now_utc() + budget;
    DEADLINE.try_with(|d| (*d).min(own)).unwrap_or(own)
}
