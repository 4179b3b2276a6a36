//! A signing secret read at each use, through the cache: a rotated value
//! reaches a warm function within the cache's TTL, and at once after the
//! peer refuses our signature (one forced re-read a minute per container,
//! so a misconfigured peer cannot turn into a flood of Secrets Manager
//! calls). The peer accepts the old and the new value during a rotation
//! (docs/RUNBOOK.md §4), so the signer only ever needs the current one.

use super::{CachedSecretSource, SecretError, SecretId, SecretSource, SecretString};
use crate::http::FetchError;
use std::future::Future;
use std::sync::Arc;

#[derive(Clone)]
pub struct SigningSecret(Inner);

#[derive(Clone)]
enum Inner {
    /// A value fixed for the process (tests, the local stack's embedded run).
    Fixed(SecretString),
    Cached {
        source: Arc<CachedSecretSource>,
        id: SecretId,
    },
}

impl SigningSecret {
    pub fn cached(source: Arc<CachedSecretSource>, id: SecretId) -> Self {
        Self(Inner::Cached { source, id })
    }

    /// The value to sign with now.
    pub async fn current(&self) -> Result<SecretString, SecretError> {
        match &self.0 {
            Inner::Fixed(value) => Ok(value.clone()),
            Inner::Cached { source, id } => source.fetch(*id).await,
        }
    }

    /// After the peer refused a signature made with `used`: the re-read
    /// value when it differs (sign again with it), else `None` (the refusal
    /// stands; a re-read happened less than a minute ago or nothing changed).
    pub async fn rotated(&self, used: &SecretString) -> Result<Option<SecretString>, SecretError> {
        match &self.0 {
            Inner::Fixed(_) => Ok(None),
            Inner::Cached { source, id } => {
                Ok(source.refresh(*id).await?.filter(|fresh| fresh != used))
            }
        }
    }
}

impl SigningSecret {
    /// Sends through `send` signed with the current value; when the peer
    /// refuses the signature (401/403), reads the secret again and, if it
    /// changed, sends once more. `unavailable` maps a secret that cannot be
    /// read into the caller's error (a transient fault).
    pub async fn send_signed<T, E, F, Fut>(
        &self,
        send: F,
        unavailable: impl Fn(SecretError) -> E,
    ) -> Result<Result<T, FetchError>, E>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<Result<T, FetchError>, E>>,
    {
        let secret = self.current().await.map_err(&unavailable)?;
        let first = send(secret.clone()).await?;
        if let Err(FetchError::Status {
            status: 401 | 403, ..
        }) = first
        {
            if let Some(fresh) = self.rotated(&secret).await.map_err(&unavailable)? {
                return send(fresh).await;
            }
        }
        Ok(first)
    }
}

impl From<SecretString> for SigningSecret {
    fn from(value: SecretString) -> Self {
        Self(Inner::Fixed(value))
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Fixed(_) => f.write_str("SigningSecret(fixed, [redacted])"),
            Inner::Cached { id, .. } => write!(f, "SigningSecret({id}, [redacted])"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::secrets::InMemorySecretSource;
    use time::macros::datetime;

    fn cached() -> (Arc<InMemorySecretSource>, Arc<ManualClock>, SigningSecret) {
        let inner = Arc::new(InMemorySecretSource::default());
        inner.set(SecretId::ConvexSigning, "whsec_old");
        let clock = Arc::new(ManualClock::new(datetime!(2026-12-02 12:00 UTC)));
        let cache = Arc::new(CachedSecretSource::new(inner.clone(), clock.clone()));
        (
            inner,
            clock,
            SigningSecret::cached(cache, SecretId::ConvexSigning),
        )
    }

    #[tokio::test]
    async fn a_rotated_value_is_signed_with_after_a_refusal_and_only_once_a_minute() {
        let (inner, clock, secret) = cached();
        let used = secret.current().await.unwrap();
        inner.set(SecretId::ConvexSigning, "whsec_new");

        // Cached: still the old value until the TTL or a refusal.
        assert_eq!(secret.current().await.unwrap().expose(), "whsec_old");
        let fresh = secret.rotated(&used).await.unwrap();
        assert_eq!(
            fresh.map(|s| s.expose().to_owned()).as_deref(),
            Some("whsec_new")
        );
        assert_eq!(secret.current().await.unwrap().expose(), "whsec_new");

        // A second refusal within the minute costs no read.
        inner.set(SecretId::ConvexSigning, "whsec_newer");
        let used = secret.current().await.unwrap();
        assert!(secret.rotated(&used).await.unwrap().is_none());
        clock.advance(time::Duration::seconds(61));
        let fresh = secret.rotated(&used).await.unwrap();
        assert_eq!(
            fresh.map(|s| s.expose().to_owned()).as_deref(),
            Some("whsec_newer")
        );
    }

    #[tokio::test]
    async fn an_unchanged_value_after_a_refusal_lets_the_refusal_stand() {
        let (_inner, _clock, secret) = cached();
        let used = secret.current().await.unwrap();
        assert!(secret.rotated(&used).await.unwrap().is_none());
        let fixed = SigningSecret::from(SecretString::new("whsec_fixed"));
        assert!(fixed.rotated(&used).await.unwrap().is_none());
        assert_eq!(format!("{fixed:?}"), "SigningSecret(fixed, [redacted])");
    }
}
