//! Dev tools over the shared crate: the local server (the README's run
//! command) and the helpers `send-event` uses. Kept apart from `functions/`:
//! nothing here is deployed.

pub mod convex_stub;
pub mod local;
pub mod polo_stub;
pub mod provisioning_receiver;
pub mod runtime_api;
pub mod sample;
