//! An in-memory `SecretSource` for tests: values set by hand, reads counted,
//! and a switch that makes the store fail like an unreachable Secrets Manager.

use super::{SecretError, SecretId, SecretSource, SecretString};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct InMemorySecretSource {
    values: Mutex<HashMap<SecretId, SecretString>>,
    fetches: AtomicUsize,
    failing: AtomicBool,
}

impl InMemorySecretSource {
    pub fn set(&self, id: SecretId, value: impl Into<String>) {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, SecretString::new(value));
    }

    pub fn fetch_count(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// While set, every fetch fails as `Unavailable`.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait]
impl SecretSource for InMemorySecretSource {
    async fn fetch(&self, id: SecretId) -> Result<SecretString, SecretError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(SecretError::Unavailable {
                id,
                source: "in-memory secret source set to fail".into(),
            });
        }
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
            .ok_or(SecretError::NotConfigured(id))
    }
}
