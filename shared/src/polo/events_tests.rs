use super::*;
use serde_json::json;

fn subscription() -> serde_json::Value {
    json!({
        "id": "sub_1", "status": "active", "product_id": "prod_1", "customer_id": "cus_1",
        "customer": {"id": "cus_1", "external_id": "acct_1", "email": "a@example.com"},
        "created_at": "2026-11-01T00:00:00Z", "modified_at": null
    })
}

fn body(event_type: &str, data: serde_json::Value) -> Vec<u8> {
    json!({"type": event_type, "timestamp": "2026-11-24T22:00:00Z", "data": data})
        .to_string()
        .into_bytes()
}

#[test]
fn a_subscription_event_parses_with_its_watermark_falling_back_to_created_at() {
    let event = parse_event(&body("subscription.active", subscription())).unwrap();
    assert_eq!(event.event_type, EventType::SubscriptionActive);
    assert_eq!(event.external_customer_id(), Some("acct_1"));
    let EventData::Subscription(s) = event.data else {
        panic!("a subscription")
    };
    assert_eq!(s.watermark(), time::macros::datetime!(2026-11-01 00:00 UTC));
    assert!(!s.wire().cancel_at_period_end);
}

#[test]
fn a_missing_field_is_named_by_its_full_path() {
    let mut data = subscription();
    data["customer"].as_object_mut().unwrap().remove("id");
    let err = parse_event(&body("subscription.created", data)).unwrap_err();
    assert_eq!(err.to_string(), "data.customer.id: missing");
}

#[test]
fn a_bad_timestamp_is_invalid_and_its_value_is_not_echoed() {
    let mut data = subscription();
    data["created_at"] = json!("yesterday-ish");
    let err = parse_event(&body("subscription.created", data)).unwrap_err();
    assert_eq!(err.to_string(), "data.created_at: invalid");
}

#[test]
fn an_envelope_without_a_type_is_malformed() {
    let err = parse_event(br#"{"data": {}}"#).unwrap_err();
    assert_eq!(err.to_string(), "type: missing");
}

#[test]
fn truncated_json_is_not_json() {
    assert_eq!(
        parse_event(br#"{"type": "order.paid""#).unwrap_err(),
        ParseError::NotJson
    );
}

#[test]
fn an_unknown_event_type_keeps_its_raw_name() {
    let err = parse_event(&body("refund.created", json!({}))).unwrap_err();
    assert_eq!(err, ParseError::UnknownType("refund.created".into()));
}

#[test]
fn an_unknown_order_status_is_an_unknown_enum() {
    let order = json!({
        "id": "ord_1", "status": "disputed", "billing_reason": "subscription_cycle",
        "customer": {"id": "cus_1", "external_id": "acct_1"},
        "total_amount": 2900, "currency": "usd", "created_at": "2026-11-01T00:00:00Z"
    });
    let err = parse_event(&body("order.paid", order)).unwrap_err();
    assert_eq!(
        err,
        ParseError::UnknownEnum {
            path: "data.status"
        }
    );
}

#[test]
fn a_body_with_bytes_after_its_json_value_is_not_json() {
    let mut bytes = body("subscription.active", subscription());
    bytes.extend_from_slice(b"}x");

    let err = parse_event(&bytes).unwrap_err();

    assert_eq!(err, ParseError::NotJson);
}

#[test]
fn a_key_given_twice_is_refused_not_resolved_to_either_value() {
    let text = String::from_utf8(body("subscription.active", subscription())).unwrap();
    let twice = format!("{{\"type\":\"subscription.revoked\",{}", &text[1..]);

    let err = parse_event(twice.as_bytes()).unwrap_err();

    assert!(
        matches!(err, ParseError::Field { ref path, problem: FieldProblem::Invalid } if path.is_empty() || path == "."),
        "{err:?}"
    );
}
