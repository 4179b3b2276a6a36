//! Everything that knows Polo lives here and only here: the webhook
//! verifier, the wire types and the event parsing. When the vendor's docs
//! arrive, this module is the one place that changes.
//!
//! The wire types (`wire`) are private to it: what leaves is a domain type
//! through `From`/`TryFrom` (`transform`), or an opaque
//! [`PoloSubscription`]/[`PoloOrder`] whose only ways out are domain types.
//! `ports` names every call the rest of the crate may make to Polo.

pub mod catalogue;
pub mod client;
pub mod events;
pub mod memory;
pub mod ports;
pub mod routing;
mod subscription;
mod transform;
pub mod verifier;
mod wire;

pub use subscription::{OrderChange, PoloOrder, PoloSubscription};
pub use transform::SnapshotError;
