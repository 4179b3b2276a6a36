//! When to try again: bounded attempts, exponential backoff with full
//! jitter, `Retry-After` honoured, and never a wait that would outlive the
//! deadline.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries (the webhook path's Convex calls: Polo retries instead).
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// How long to wait before attempt `attempt + 1`, or `None` to stop.
    pub fn wait_before(
        &self,
        attempt: u32,
        transient: bool,
        retry_after: Option<Duration>,
        remaining: Duration,
    ) -> Option<Duration> {
        if !transient || attempt >= self.max_attempts {
            return None;
        }
        let wait = match retry_after {
            Some(asked) => asked,
            None => {
                let ceiling = self
                    .base_delay
                    .saturating_mul(1 << attempt.min(16))
                    .min(self.max_delay);
                ceiling.mul_f64(fastrand::f64())
            }
        };
        // A wait that leaves no time for the next attempt is no retry at all.
        (wait + Duration::from_millis(300) < remaining).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLENTY: Duration = Duration::from_secs(60);

    #[test]
    fn permanent_errors_and_the_last_attempt_are_not_retried() {
        let p = RetryPolicy::default();
        assert_eq!(p.wait_before(1, false, None, PLENTY), None);
        assert_eq!(p.wait_before(3, true, None, PLENTY), None);
    }

    #[test]
    fn backoff_is_jittered_below_its_exponential_ceiling() {
        let p = RetryPolicy::default();
        for _ in 0..100 {
            assert!(p.wait_before(1, true, None, PLENTY).unwrap() <= Duration::from_millis(200));
            assert!(p.wait_before(2, true, None, PLENTY).unwrap() <= Duration::from_millis(400));
        }
    }

    #[test]
    fn retry_after_is_honoured_unless_it_outlives_the_deadline() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.wait_before(1, true, Some(Duration::from_secs(1)), PLENTY),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.wait_before(
                1,
                true,
                Some(Duration::from_secs(5)),
                Duration::from_secs(3)
            ),
            None
        );
    }
}
