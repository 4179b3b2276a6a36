//! The webhook secrets as prepared HMAC keys. The raw secret is read through
//! the cached secret source; keys are rebuilt only when its value changes.
//! After a signature failure the secret may be re-read (a rotation may have
//! happened) — at most once a minute per container, so a flood of forged
//! deliveries cannot turn into a flood of Secrets Manager calls.

use crate::polo::verifier::{SecretFormatError, WebhookSecret};
use crate::secrets::{CachedSecretSource, SecretError, SecretId, SecretSource, SecretString};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Source(#[from] SecretError),
    #[error("the webhook secret is malformed")]
    Format(#[from] SecretFormatError),
}

type Prepared = (SecretString, Arc<Vec<WebhookSecret>>);

pub struct WebhookKeys {
    source: Arc<CachedSecretSource>,
    prepared: Mutex<Option<Prepared>>,
}

impl WebhookKeys {
    pub fn new(source: Arc<CachedSecretSource>) -> Self {
        Self {
            source,
            prepared: Mutex::new(None),
        }
    }

    /// The current keys (cached secret, prepared once per value).
    pub async fn current(&self) -> Result<Arc<Vec<WebhookSecret>>, KeysError> {
        let raw = self.source.fetch(SecretId::PoloWebhook).await?;
        self.prepare(raw)
    }

    /// Re-reads the secret after a signature failure. `None` when a re-read
    /// happened less than a minute ago or the value did not change: the
    /// caller's failure stands.
    pub async fn refreshed(&self) -> Result<Option<Arc<Vec<WebhookSecret>>>, KeysError> {
        let before = self.lock().as_ref().map(|(raw, _)| raw.clone());
        match self.source.refresh(SecretId::PoloWebhook).await? {
            Some(raw) if Some(&raw) != before.as_ref() => Ok(Some(self.prepare(raw)?)),
            _ => Ok(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Prepared>> {
        self.prepared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn prepare(&self, raw: SecretString) -> Result<Arc<Vec<WebhookSecret>>, KeysError> {
        if let Some((cached_raw, keys)) = self.lock().as_ref() {
            if *cached_raw == raw {
                return Ok(keys.clone());
            }
        }
        let keys = Arc::new(WebhookSecret::parse_list(&raw)?);
        *self.lock() = Some((raw, keys.clone()));
        Ok(keys)
    }
}
