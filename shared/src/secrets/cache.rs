//! An in-memory cache in front of any `SecretSource`: a warm Lambda reads
//! each secret once per TTL, and a forced re-read (after a signature failure,
//! to pick up a rotated webhook secret) is allowed at most once per interval.

use super::{SecretError, SecretId, SecretSource, SecretString};
use crate::clock::Clock;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone)]
struct Entry {
    value: SecretString,
    fetched_at: OffsetDateTime,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<SecretId, Entry>,
    last_forced: HashMap<SecretId, OffsetDateTime>,
}

pub struct CachedSecretSource {
    inner: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    min_forced_interval: Duration,
    state: Mutex<State>,
}

impl CachedSecretSource {
    /// Default TTL: five minutes. Default forced re-read interval: one minute.
    pub fn new(inner: Arc<dyn SecretSource>, clock: Arc<dyn Clock>) -> Self {
        Self::with_timings(inner, clock, Duration::minutes(5), Duration::minutes(1))
    }

    pub fn with_timings(
        inner: Arc<dyn SecretSource>,
        clock: Arc<dyn Clock>,
        ttl: Duration,
        min_forced_interval: Duration,
    ) -> Self {
        Self {
            inner,
            clock,
            ttl,
            min_forced_interval,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the secret, bypassing the cache, unless a forced re-read of
    /// it happened less than the minimum interval ago. Returns `None` when
    /// rate-limited (the caller keeps its answer), else the fresh value.
    pub async fn refresh(&self, id: SecretId) -> Result<Option<SecretString>, SecretError> {
        let now = self.clock.now();
        {
            let mut state = self.lock();
            if let Some(last) = state.last_forced.get(&id) {
                if now - *last < self.min_forced_interval {
                    return Ok(None);
                }
            }
            // Recorded before the call so that a burst of failures, or a
            // failing secret store, still costs one read per interval.
            state.last_forced.insert(id, now);
        }
        let value = self.inner.fetch(id).await?;
        self.lock().entries.insert(
            id,
            Entry {
                value: value.clone(),
                fetched_at: now,
            },
        );
        Ok(Some(value))
    }
}

#[async_trait]
impl SecretSource for CachedSecretSource {
    async fn fetch(&self, id: SecretId) -> Result<SecretString, SecretError> {
        let now = self.clock.now();
        if let Some(entry) = self.lock().entries.get(&id) {
            if now - entry.fetched_at < self.ttl {
                return Ok(entry.value.clone());
            }
        }
        let value = self.inner.fetch(id).await?;
        self.lock().entries.insert(
            id,
            Entry {
                value: value.clone(),
                fetched_at: now,
            },
        );
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::secrets::InMemorySecretSource;

    fn setup() -> (
        Arc<InMemorySecretSource>,
        Arc<ManualClock>,
        CachedSecretSource,
    ) {
        let inner = Arc::new(InMemorySecretSource::default());
        inner.set(SecretId::PoloWebhook, "first");
        let clock = Arc::new(ManualClock::starting_now());
        let cache = CachedSecretSource::new(inner.clone(), clock.clone());
        (inner, clock, cache)
    }

    #[tokio::test]
    async fn a_warm_read_within_the_ttl_does_not_reach_the_store() {
        let (inner, clock, cache) = setup();
        cache.fetch(SecretId::PoloWebhook).await.unwrap();
        clock.advance(Duration::minutes(4));
        cache.fetch(SecretId::PoloWebhook).await.unwrap();
        assert_eq!(inner.fetch_count(), 1);
    }

    #[tokio::test]
    async fn a_read_after_the_ttl_sees_the_new_value() {
        let (inner, clock, cache) = setup();
        cache.fetch(SecretId::PoloWebhook).await.unwrap();
        inner.set(SecretId::PoloWebhook, "second");
        clock.advance(Duration::minutes(6));
        let value = cache.fetch(SecretId::PoloWebhook).await.unwrap();
        assert_eq!(value.expose(), "second");
        assert_eq!(inner.fetch_count(), 2);
    }

    #[tokio::test]
    async fn a_forced_refresh_is_allowed_at_most_once_a_minute() {
        let (inner, clock, cache) = setup();
        cache.fetch(SecretId::PoloWebhook).await.unwrap();
        inner.set(SecretId::PoloWebhook, "rotated");

        let first = cache.refresh(SecretId::PoloWebhook).await.unwrap();
        clock.advance(Duration::seconds(30));
        let second = cache.refresh(SecretId::PoloWebhook).await.unwrap();
        clock.advance(Duration::seconds(31));
        let third = cache.refresh(SecretId::PoloWebhook).await.unwrap();

        assert_eq!(
            first.map(|s| s.expose().to_owned()).as_deref(),
            Some("rotated")
        );
        assert!(
            second.is_none(),
            "a second forced read within a minute is refused"
        );
        assert!(third.is_some());
        assert_eq!(inner.fetch_count(), 3);
        assert_eq!(
            cache.fetch(SecretId::PoloWebhook).await.unwrap().expose(),
            "rotated"
        );
    }
}
