//! Dev tools over the shared crate: the local server (the README's run
//! command) and the helpers `send-event` uses. Kept apart from `functions/`:
//! nothing here is deployed.

pub mod local;
pub mod runtime_api;
pub mod sample;
