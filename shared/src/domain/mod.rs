//! The billing domain: pure types and rules, no I/O. Ids are newtypes with
//! private fields, states are enums, and ONE transition —
//! [`lifecycle::apply`] — turns a subscription snapshot into the account's
//! next state for every caller (webhooks, checkout confirmation, plan
//! change, reconciliation).

pub mod account;
pub mod ids;
pub mod lifecycle;
pub mod plan;

pub use account::{
    AccountBilling, BillingStatus, Entitlement, KnownSubscription, PaypalLegacy,
    PendingPaypalCancellation, Provider, ProvisionedEntitlement, ProvisioningIntent,
    SubscriptionSnapshot,
};
pub use ids::{AccountId, CheckoutId, CustomerId, IdError, ProductId, SubscriptionId};
pub use lifecycle::{apply, mark_paypal, refresh, Applied, Decision, MigrationRefusal, Policy};
pub use plan::PlanTier;
