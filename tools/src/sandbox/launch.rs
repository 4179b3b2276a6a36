//! Starting a sandbox on a listener: the standalone `polo-sandbox serve`
//! and the local stack's in-process one go through here.

use super::clock::SandboxClock;
use super::dispatcher::{DeliveryConfig, RetrySchedule};
use super::{products, Sandbox, SandboxConfig, LOCAL_API_KEY};
use crate::local::LOCAL_WEBHOOK_SECRET;
use billing::secrets::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub struct SandboxOptions {
    pub api_key: SecretString,
    /// Signs webhooks (`whsec_...`).
    pub webhook_secret: SecretString,
    /// The webhook endpoints' base URL; `None`: record events only.
    pub webhook_target: Option<Url>,
    pub products_file: PathBuf,
    pub retry: RetrySchedule,
    pub hang: Duration,
    /// Periods end (renewals, cancellations taking effect) as real time
    /// passes. Off for a fixture Polo whose subscriptions hold the state a
    /// test put there until the test moves the clock.
    pub periods_end_by_themselves: bool,
}

impl SandboxOptions {
    /// The documented local key and secret, the shipped products.
    pub fn local(webhook_target: Option<Url>) -> Self {
        Self {
            api_key: SecretString::new(LOCAL_API_KEY),
            webhook_secret: SecretString::new(LOCAL_WEBHOOK_SECRET),
            webhook_target,
            products_file: products::default_path(),
            retry: RetrySchedule::default(),
            hang: Duration::from_secs(30),
            periods_end_by_themselves: true,
        }
    }
}

/// Builds the sandbox for `listener`'s address, serves it in the
/// background (with the period-end ticker) and returns it.
pub async fn launch(
    listener: tokio::net::TcpListener,
    options: SandboxOptions,
    clock: Arc<SandboxClock>,
) -> Result<Arc<Sandbox>, String> {
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url =
        Url::parse(&format!("http://{address}")).map_err(|e| format!("sandbox URL: {e}"))?;
    let config = SandboxConfig {
        api_key: options.api_key,
        public_url,
        products: products::load(&options.products_file)?,
        delivery: DeliveryConfig {
            target: options.webhook_target,
            secret: options.webhook_secret,
            retry: options.retry,
            timeout: Duration::from_secs(10),
        },
        hang: options.hang,
    };
    let sandbox = Sandbox::new(config, clock)?;
    if options.periods_end_by_themselves {
        sandbox.spawn_ticker();
    }
    let router = sandbox.router();
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            eprintln!("polo sandbox stopped: {err}");
        }
    });
    Ok(sandbox)
}

/// The sandbox on a free loopback port with its own clock (starting now),
/// for tests and harnesses that run it beside the real binaries.
pub async fn on_loopback(options: SandboxOptions) -> Result<Arc<Sandbox>, String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("127.0.0.1:0: {e}"))?;
    launch(listener, options, Arc::new(SandboxClock::new())).await
}
