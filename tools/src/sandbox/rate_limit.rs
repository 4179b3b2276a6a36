//! A steady requests-per-second limit on the `/v1` API, as Polo's own
//! limiter would answer it: a token bucket holding one second's worth of
//! requests, refilled continuously; a request that finds it empty gets 429
//! `TooManyRequests` with `Retry-After` (whole seconds, at least 1, as
//! polo-api.md gives it). Off unless set (`set(Some(rps))`), so every
//! existing test sees the unlimited sandbox. The scale harness turns it on
//! so its long runs honour a rate limit the way production must.

use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
struct Bucket {
    per_second: f64,
    tokens: f64,
    refilled: Instant,
}

/// The limiter: `None` inside means unlimited.
#[derive(Debug, Default)]
pub struct RateLimit {
    bucket: Mutex<Option<Bucket>>,
    refused: std::sync::atomic::AtomicU64,
}

impl RateLimit {
    /// Sets (or, with `None`, lifts) the limit; the bucket starts full.
    pub fn set(&self, per_second: Option<u32>) {
        let bucket = per_second.filter(|r| *r > 0).map(|r| Bucket {
            per_second: f64::from(r),
            tokens: f64::from(r),
            refilled: Instant::now(),
        });
        *self.bucket.lock().unwrap_or_else(|p| p.into_inner()) = bucket;
    }

    /// Takes a token at `now`: `Ok` to serve the request, or `Err(seconds)`
    /// to answer 429 with that `Retry-After`.
    pub fn take_at(&self, now: Instant) -> Result<(), u64> {
        let mut guard = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = guard.as_mut() else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * bucket.per_second).min(bucket.per_second);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Whole seconds, rounded up: a client that waits this long finds a
        // token (the header cannot say less than a second).
        let wait = (1.0 - bucket.tokens) / bucket.per_second;
        Err(wait.ceil().max(1.0) as u64)
    }

    pub fn take(&self) -> Result<(), u64> {
        self.take_at(Instant::now())
    }

    /// Requests answered 429 by the limit so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_unset_limit_serves_every_request() {
        let limit = RateLimit::default();
        let now = Instant::now();
        assert!((0..10_000).all(|_| limit.take_at(now).is_ok()));
        assert_eq!(limit.refused(), 0);
    }

    #[test]
    fn a_limit_serves_one_seconds_worth_then_answers_retry_after_until_it_refills() {
        let limit = RateLimit::default();
        limit.set(Some(5));
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(limit.take_at(start), Ok(()));
        }
        assert_eq!(limit.take_at(start), Err(1));
        // 0.2 s refills one token at 5 per second.
        let later = start + Duration::from_millis(200);
        assert_eq!(limit.take_at(later), Ok(()));
        assert_eq!(limit.take_at(later), Err(1));
        // A second later the bucket is full again, never fuller.
        let much_later = later + Duration::from_secs(10);
        for _ in 0..5 {
            assert_eq!(limit.take_at(much_later), Ok(()));
        }
        assert_eq!(limit.take_at(much_later), Err(1));
        assert_eq!(limit.refused(), 3);
        limit.set(None);
        assert_eq!(limit.take_at(much_later), Ok(()));
    }
}
