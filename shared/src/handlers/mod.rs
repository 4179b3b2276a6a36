//! One handler per function. The webhook functions share the intake
//! ([`crate::webhook::Intake`]) and the [`lifecycle::LifecycleHandler`].

pub mod lifecycle;
pub mod provisioning_sync;
pub mod reconcile;
pub mod webhook_retry;
