//! Which Polo event types each webhook endpoint is registered for
//! (polo-api.md, "Event types and the endpoint that receives each").

use super::events::EventType;

/// One webhook endpoint = one Lambda function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionCanceled,
    PaymentFailed,
    PaymentSucceeded,
}

impl Endpoint {
    pub const ALL: [Endpoint; 5] = [
        Endpoint::SubscriptionCreated,
        Endpoint::SubscriptionUpdated,
        Endpoint::SubscriptionCanceled,
        Endpoint::PaymentFailed,
        Endpoint::PaymentSucceeded,
    ];

    /// The endpoint's last path segment, e.g. `subscription-created`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::SubscriptionCreated => "subscription-created",
            Self::SubscriptionUpdated => "subscription-updated",
            Self::SubscriptionCanceled => "subscription-canceled",
            Self::PaymentFailed => "payment-failed",
            Self::PaymentSucceeded => "payment-succeeded",
        }
    }

    /// The Lambda binary's name, e.g. `webhook-subscription-created`.
    pub fn function_name(self) -> &'static str {
        match self {
            Self::SubscriptionCreated => "webhook-subscription-created",
            Self::SubscriptionUpdated => "webhook-subscription-updated",
            Self::SubscriptionCanceled => "webhook-subscription-canceled",
            Self::PaymentFailed => "webhook-payment-failed",
            Self::PaymentSucceeded => "webhook-payment-succeeded",
        }
    }

    /// The API route, e.g. `/api/billing/polo/subscription-created`.
    pub fn path(self) -> String {
        format!("/api/billing/polo/{}", self.slug())
    }

    pub fn from_function_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.function_name() == name)
    }

    /// Whether Polo is registered to send `event_type` here.
    pub fn accepts(self, event_type: &EventType) -> bool {
        use EventType as T;
        match self {
            Self::SubscriptionCreated => matches!(event_type, T::SubscriptionCreated),
            Self::SubscriptionUpdated => matches!(
                event_type,
                T::SubscriptionUpdated
                    | T::SubscriptionActive
                    | T::SubscriptionUncanceled
                    | T::SubscriptionCycled
                    | T::SubscriptionPaused
                    | T::SubscriptionResumed
            ),
            Self::SubscriptionCanceled => {
                matches!(event_type, T::SubscriptionCanceled | T::SubscriptionRevoked)
            }
            Self::PaymentFailed => matches!(event_type, T::SubscriptionPastDue),
            Self::PaymentSucceeded => matches!(event_type, T::OrderPaid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_event_type_is_accepted_by_exactly_one_endpoint() {
        let types = [
            "subscription.created",
            "subscription.updated",
            "subscription.active",
            "subscription.uncanceled",
            "subscription.cycled",
            "subscription.paused",
            "subscription.resumed",
            "subscription.canceled",
            "subscription.revoked",
            "subscription.past_due",
            "order.paid",
        ];
        for raw in types {
            let t = EventType::parse(raw);
            let accepting: Vec<_> = Endpoint::ALL.iter().filter(|e| e.accepts(&t)).collect();
            assert_eq!(accepting.len(), 1, "{raw} is accepted by {accepting:?}");
        }
    }

    #[test]
    fn an_unknown_type_is_accepted_nowhere() {
        let t = EventType::parse("refund.created");
        assert!(Endpoint::ALL.iter().all(|e| !e.accepts(&t)));
    }

    #[test]
    fn function_names_round_trip() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_function_name(e.function_name()), Some(e));
        }
    }
}
