//! Dev tools over the shared crate: the local server (the README's run
//! command) and the helpers `send-event` uses. Kept apart from `functions/`:
//! nothing here is deployed.

pub mod burst;
pub mod convex_stub;
pub mod fault_switch;
pub mod forward;
pub mod local;
pub mod moto;
pub mod preflight;
pub mod provisioning_receiver;
pub mod runtime_api;
pub mod sample;
pub mod sandbox;
pub mod scale;
pub mod subjects;
pub mod tcp_switch;

/// Whether a request to one of the stand-ins carries a valid Standard
/// Webhooks signature for `secret` (timestamp within ±300 s).
pub fn signed(
    headers: &axum::http::HeaderMap,
    body: &[u8],
    secrets: &[billing::polo::verifier::WebhookSecret],
) -> bool {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let signature = billing::polo::verifier::SignatureHeaders {
        id: get("webhook-id"),
        timestamp: get("webhook-timestamp"),
        signature: get("webhook-signature"),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    billing::polo::verifier::verify(body, signature, secrets, now).is_ok()
}

/// The `whsec_` secrets a stand-in's verifying side accepts: several while
/// one is rotated (the verifying side's half of RUNBOOK §4).
pub struct AcceptedSecrets(std::sync::RwLock<Vec<billing::polo::verifier::WebhookSecret>>);

impl AcceptedSecrets {
    pub fn new(signing_secrets: &[&str]) -> Result<Self, String> {
        Ok(Self(std::sync::RwLock::new(Self::parse(signing_secrets)?)))
    }

    /// The secrets accepted from now on.
    pub fn accept(&self, signing_secrets: &[&str]) -> Result<(), String> {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Self::parse(signing_secrets)?;
        Ok(())
    }

    pub fn current(&self) -> Vec<billing::polo::verifier::WebhookSecret> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn parse(
        signing_secrets: &[&str],
    ) -> Result<Vec<billing::polo::verifier::WebhookSecret>, String> {
        signing_secrets
            .iter()
            .map(|s| {
                billing::polo::verifier::WebhookSecret::new(&billing::secrets::SecretString::new(
                    *s,
                ))
                .map_err(|e| e.to_string())
            })
            .collect()
    }
}

/// Whether a request to the Convex stand-in carries a valid route-bound
/// signature (`{id}.{timestamp}.{METHOD} {path}.{body}`, ±300 s).
pub fn signed_for_route(
    headers: &axum::http::HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
    secrets: &[billing::polo::verifier::WebhookSecret],
) -> bool {
    let content = [
        billing::signing::route_prefix(method, path).as_slice(),
        body,
    ]
    .concat();
    signed(headers, &content, secrets)
}

/// Serves `router` on a free loopback port in the background and returns
/// its base URL (`http://127.0.0.1:<port>`): how the tests and harnesses
/// start the stand-ins the real binaries call.
pub async fn serve_on_loopback(router: axum::Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            eprintln!("loopback server stopped: {err}");
        }
    });
    Ok(url)
}
