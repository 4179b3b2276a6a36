//! An event handler that only records: the intake tests' double. It
//! records each verified, routed, claimed event (logged with its typed
//! fields, and kept in memory) and changes nothing. The functions run
//! `billing::handlers::lifecycle::LifecycleHandler`.

use async_trait::async_trait;
use billing::polo::events::{EventData, PoloEvent};
use billing::webhook::{DeliveryContext, EventHandler, HandleError, Handled};
use std::sync::Mutex;
use tracing::info;

/// A recorded event: what the handler saw, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub webhook_id: String,
    pub event: PoloEvent,
}

#[derive(Debug, Default)]
pub struct RecordingHandler {
    recorded: Mutex<Vec<Recorded>>,
}

impl RecordingHandler {
    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl EventHandler for RecordingHandler {
    async fn handle(
        &self,
        event: &PoloEvent,
        ctx: &DeliveryContext,
    ) -> Result<Handled, HandleError> {
        match &event.data {
            EventData::Subscription(s) => info!(
                subscription_id = %s.id(),
                status = %s.status_name(),
                watermark = %s.watermark(),
                "subscription event recorded (lifecycle not applied yet)"
            ),
            EventData::Order(o) => info!(
                order_id = %o.id(),
                status = %o.status_name(),
                "order event recorded (lifecycle not applied yet)"
            ),
        }
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Recorded {
                webhook_id: ctx.webhook_id.clone(),
                event: event.clone(),
            });
        Ok(Handled::Applied)
    }
}
