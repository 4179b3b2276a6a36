//! Edges of every value a Polo event carries, through the real intake and
//! lifecycle (issue 16 item 6): dates near or past the representable range
//! (and grace arithmetic on them), periods that end before they start, ids
//! that are empty, dot segments, over-long, URL delimiters or non-ASCII,
//! amounts beyond i64. Each is parked with a specific reason, nothing is
//! written, and no handler panics. The dashboard's edges (ids, bodies) are
//! in `dashboard_safety.rs`. The table is printed (`--nocapture`).

mod support;

use serde_json::{json, Value};
use support::system::{sub, System};
use time::macros::datetime;

const END: &str = "2026-12-01T00:00:00Z";

fn active() -> Value {
    sub(
        "sub_1",
        "active",
        "prod_pro_monthly",
        "2026-11-01T00:05:00Z",
        END,
    )
}

fn with(field: &str, value: Value) -> Value {
    let mut data = active();
    data[field] = value;
    data
}

fn with_customer(value: Value) -> Value {
    let mut data = active();
    data["customer"]["external_id"] = value.clone();
    data["metadata"]["accountId"] = value;
    data
}

#[tokio::test]
async fn every_edge_value_is_parked_with_its_reason_and_nothing_panics() {
    let beyond_i64 = Value::Number(serde_json::Number::from(9_223_372_036_854_775_808_u64));
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "period end at the last representable second (+24 h grace)",
            with("current_period_end", json!("9999-12-31T23:59:59Z")),
            "out_of_range",
        ),
        (
            "period end in year 9001",
            with("current_period_end", json!("9001-01-01T00:00:00Z")),
            "out_of_range",
        ),
        (
            "period end in year 0",
            with("current_period_end", json!("0000-01-01T00:00:00Z")),
            "out_of_range",
        ),
        (
            "period end past year 9999 (not RFC 3339)",
            with("current_period_end", json!("+10000-01-01T00:00:00Z")),
            "malformed",
        ),
        (
            "trial end at the last representable second",
            {
                let mut data = with("status", json!("trialing"));
                data["trial_end"] = json!("9999-12-31T23:59:59Z");
                data
            },
            "out_of_range",
        ),
        (
            "modified_at at the last representable second",
            with("modified_at", json!("9999-12-31T23:59:59Z")),
            "out_of_range",
        ),
        (
            "a period that ends before it starts",
            with("current_period_start", json!("2026-12-02T00:00:00Z")),
            "out_of_range",
        ),
        (
            "a trial that ends before it starts",
            {
                let mut data = with("status", json!("trialing"));
                data["trial_start"] = json!("2026-11-20T00:00:00Z");
                data["trial_end"] = json!("2026-11-10T00:00:00Z");
                data
            },
            "out_of_range",
        ),
        ("empty subscription id", with("id", json!("")), "malformed"),
        ("subscription id `.`", with("id", json!(".")), "malformed"),
        ("subscription id `..`", with("id", json!("..")), "malformed"),
        (
            "subscription id of 129 characters",
            with("id", json!("s".repeat(129))),
            "malformed",
        ),
        (
            "subscription id with `/`",
            with("id", json!("sub/1")),
            "malformed",
        ),
        (
            "subscription id with `?`",
            with("id", json!("sub?1")),
            "malformed",
        ),
        (
            "subscription id with `#`",
            with("id", json!("sub#1")),
            "malformed",
        ),
        (
            "subscription id with `%`",
            with("id", json!("sub%2F1")),
            "malformed",
        ),
        (
            "subscription id with non-ASCII",
            with("id", json!("süb_1")),
            "malformed",
        ),
        ("empty account id", with_customer(json!("")), "malformed"),
        ("account id `..`", with_customer(json!("..")), "malformed"),
        (
            "account id with `/`",
            with_customer(json!("acct/../admin")),
            "malformed",
        ),
        (
            "account id of 129 characters",
            with_customer(json!("a".repeat(129))),
            "malformed",
        ),
        (
            "empty product id",
            with("product_id", json!("")),
            "malformed",
        ),
        ("amount beyond i64", with("amount", beyond_i64), "malformed"),
        (
            "amount as a float beyond i64",
            with("amount", json!(1e30)),
            "malformed",
        ),
        (
            "amount as a string",
            with("amount", json!("2900")),
            "malformed",
        ),
    ];
    let mut table = Vec::new();
    for (i, (name, data, reason)) in cases.into_iter().enumerate() {
        let system = System::new(datetime!(2026-11-15 12:00 UTC));

        let (status, body) = system
            .deliver(&format!("msg_edge_{i}"), "subscription.updated", data)
            .await;

        table.push(format!(
            "| {name} | {status} {} |",
            body["reason"].as_str().unwrap_or("-")
        ));
        assert_eq!(
            (status, body["status"].as_str(), body["reason"].as_str()),
            (200, Some("parked"), Some(reason)),
            "{name}: {body}"
        );
        assert_eq!(system.account().version, 0, "{name}: nothing written");
        assert!(system.pushes().is_empty(), "{name}: nothing pushed");
    }
    println!("| value | answer |\n|---|---|\n{}", table.join("\n"));
}

#[tokio::test]
async fn the_widest_in_range_dates_are_applied_without_overflow() {
    // The control: the edges just inside the range are applied, grace
    // arithmetic included, and nothing panics.
    let system = System::new(datetime!(2026-11-15 12:00 UTC));
    let data = with("current_period_end", json!("9000-12-31T23:59:59Z"));

    let (status, body) = system
        .deliver("msg_far", "subscription.updated", data)
        .await;

    assert_eq!((status, body), (200, json!({"status": "processed"})));
    let account = system.account();
    assert!(account.desired_entitlement.entitled);
    assert_eq!(
        account.desired_entitlement.expires_at,
        Some(datetime!(9001-01-01 23:59:59 UTC)),
        "the 24 h renewal grace added past the period end"
    );
}
