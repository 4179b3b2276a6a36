//! One handler per function. The webhook functions share the intake
//! ([`crate::webhook::Intake`]) and differ only in their endpoint and the
//! [`crate::webhook::EventHandler`] they run.

pub mod webhooks;
