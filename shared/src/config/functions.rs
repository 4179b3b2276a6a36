//! Every deployed function, by its binary name, and the secrets each one
//! reads. A function's configuration asks for exactly these secrets and the
//! template grants exactly these (`functions/tests/template_grants.rs`), so a
//! new read without a grant, or a grant nobody reads, fails a test.

use crate::dashboard::Route;
use crate::polo::routing::Endpoint;
use crate::secrets::SecretId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Dashboard(Route),
    Webhook(Endpoint),
    /// The inbox's sweep: finishes stored payloads, so it verifies nothing.
    WebhookRetry,
    ProvisioningSync,
    Reconcile,
}

impl Function {
    pub fn all() -> impl Iterator<Item = Function> {
        Route::ALL
            .into_iter()
            .map(Function::Dashboard)
            .chain(Endpoint::ALL.into_iter().map(Function::Webhook))
            .chain([
                Function::WebhookRetry,
                Function::ProvisioningSync,
                Function::Reconcile,
            ])
    }

    /// The Lambda binary's name (`functions/src/bin/<name>.rs`).
    pub fn binary(self) -> &'static str {
        match self {
            Self::Dashboard(route) => route.function_name(),
            Self::Webhook(endpoint) => endpoint.function_name(),
            Self::WebhookRetry => "webhook-retry",
            Self::ProvisioningSync => "provisioning-sync",
            Self::Reconcile => "reconcile",
        }
    }

    pub fn from_binary(name: &str) -> Option<Self> {
        Self::all().find(|f| f.binary() == name)
    }

    /// Whether it calls Polo's API (`POLO_API_BASE_URL`, the API key).
    pub fn calls_polo(self) -> bool {
        self.secrets().contains(&SecretId::PoloApiKey)
    }

    /// What it reads from Secrets Manager, and nothing more.
    pub fn secrets(self) -> &'static [SecretId] {
        use SecretId::*;
        match self {
            // Checkout and portal read the account; they never write it.
            Self::Dashboard(Route::Checkout | Route::Portal) => &[PoloApiKey, ConvexSigning],
            // Status repairs from Polo's snapshot and a plan change records
            // itself: both write, and a write may push credentials.
            Self::Dashboard(Route::Status | Route::ChangePlan) => {
                &[PoloApiKey, ConvexSigning, ProvisioningSigning]
            }
            // order.paid is confirmed against Polo's API.
            Self::Webhook(Endpoint::PaymentSucceeded) => {
                &[PoloWebhook, PoloApiKey, ConvexSigning, ProvisioningSigning]
            }
            Self::Webhook(_) => &[PoloWebhook, ConvexSigning, ProvisioningSigning],
            Self::WebhookRetry | Self::Reconcile => {
                &[PoloApiKey, ConvexSigning, ProvisioningSigning]
            }
            // The only reader of PayPal's credentials: it cancels migrated
            // accounts' PayPal subscriptions.
            Self::ProvisioningSync => &[ConvexSigning, ProvisioningSigning, Paypal],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_named_once_and_found_by_its_name() {
        let names: Vec<&str> = Function::all().map(Function::binary).collect();
        assert_eq!(names.len(), 12);
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), 12);
        for f in Function::all() {
            assert_eq!(Function::from_binary(f.binary()), Some(f));
        }
        assert_eq!(Function::from_binary("trivial-lambda"), None);
    }

    #[test]
    fn only_provisioning_sync_reads_paypal_and_only_webhooks_read_polos_webhook_secret() {
        for f in Function::all() {
            assert_eq!(
                f.secrets().contains(&SecretId::Paypal),
                f == Function::ProvisioningSync,
                "{}",
                f.binary()
            );
            assert_eq!(
                f.secrets().contains(&SecretId::PoloWebhook),
                matches!(f, Function::Webhook(_)),
                "{}",
                f.binary()
            );
            assert!(f.secrets().contains(&SecretId::ConvexSigning));
        }
    }
}
