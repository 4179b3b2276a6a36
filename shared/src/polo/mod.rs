//! Everything that knows Polo lives here and only here: the webhook
//! verifier, the wire types and the event parsing. When the vendor's docs
//! arrive, this module is the one place that changes. No wire type leaves
//! it except through `From`/`TryFrom` into domain types.

pub mod api;
pub mod billing_api;
pub mod catalogue;
pub mod client;
pub mod events;
pub mod memory;
pub mod routing;
pub mod transform;
pub mod verifier;
pub mod wire;
