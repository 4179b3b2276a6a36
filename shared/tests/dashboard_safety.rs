//! Payment safety at the dashboard: no second subscription for an account
//! Polo still bills (asked of Polo itself, whatever our record says), a plan
//! change whose outcome is unknown answers what is true, hostile bodies and
//! ids are refused before anything is called, and no answer ever echoes a
//! value the caller sent.

mod support;

use billing::config::BillingProvider;
use billing::dashboard::{Dashboard, Route};
use billing::domain::PlanTier;
use billing::polo::client::PoloClient;
use serde_json::Value;
use std::sync::Arc;
use support::dashboard::{call, call_with, dashboard, settings};
use support::system::{System, ACCOUNT};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("<none>")
}

/// A Polo subscription of the account, its period ending in 20 days.
fn polo_subscription(status: &str, product: &str) -> Value {
    let mut s = support::polo::subscription("sub_1", status, ACCOUNT);
    let end = (OffsetDateTime::now_utc() + Duration::days(20))
        .format(&Rfc3339)
        .unwrap();
    s["product_id"] = product.into();
    s["current_period_end"] = end.into();
    s["modified_at"] = OffsetDateTime::now_utc().format(&Rfc3339).unwrap().into();
    s
}

fn in_memory() -> (System, Arc<billing::polo::memory::InMemoryPolo>, Dashboard) {
    let system = System::new(OffsetDateTime::now_utc());
    let polo = system.polo.clone();
    let d = dashboard(&system, polo.clone(), settings(BillingProvider::Polo));
    (system, polo, d)
}

#[tokio::test]
async fn checkout_is_refused_for_every_polo_subscription_that_has_not_ended_though_our_record_says_free(
) {
    let not_ended = [
        ("trialing", false),
        ("active", false),
        ("active", true), // scheduled to cancel at period end
        ("past_due", false),
        ("incomplete", false),
        ("unpaid", false),
        ("paused", false),
    ];
    for (status, cancel_at_period_end) in not_ended {
        let (system, polo, d) = in_memory();
        let mut s = polo_subscription(status, "prod_pro_monthly");
        s["cancel_at_period_end"] = cancel_at_period_end.into();
        polo.put_subscription(serde_json::from_value(s).unwrap());
        assert_eq!(
            system.account().plan_tier,
            PlanTier::Free,
            "our record is behind"
        );

        let (code_, body) = call(
            &d,
            Route::Checkout,
            Some(ACCOUNT),
            "",
            Some(r#"{"planTier":"enterprise"}"#),
        )
        .await;

        assert_eq!(
            (code_, code(&body)),
            (409, "already_subscribed"),
            "{status}"
        );
        assert!(polo.created_checkouts().is_empty(), "{status}: no checkout");
    }
}

#[tokio::test]
async fn checkout_goes_ahead_when_every_polo_subscription_has_ended() {
    for status in ["canceled", "incomplete_expired"] {
        let (_system, polo, d) = in_memory();
        let mut s = polo_subscription(status, "prod_pro_monthly");
        if status == "canceled" {
            s["ended_at"] = "2026-11-20T00:00:00Z".into();
        }
        polo.put_subscription(serde_json::from_value(s).unwrap());

        let (code_, body) = call(
            &d,
            Route::Checkout,
            Some(ACCOUNT),
            "",
            Some(r#"{"planTier":"pro"}"#),
        )
        .await;

        assert_eq!(code_, 200, "{status}: {body}");
        assert_eq!(polo.created_checkouts().len(), 1, "{status}");
    }
}

#[tokio::test]
async fn checkout_is_refused_when_polo_cannot_say_whether_a_subscription_exists() {
    let (_system, polo, d) = in_memory();
    polo.set_failing(true);

    let (status, body) = call(
        &d,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;

    assert_eq!((status, code(&body)), (502, "polo_unavailable"));
    assert!(polo.created_checkouts().is_empty());
}

// ---------------------------------------------------------------------------
// A plan change whose PATCH fails: the answer is what a re-read says.

fn client(server: &MockServer) -> PoloClient {
    support::polo::client(&server.uri())
}

/// An active pro subscriber (through a real webhook), a dashboard over the
/// real Polo client, and Polo answering every PATCH 503 and the re-read
/// with `reread`.
async fn plan_change_against(reread: ResponseTemplate) -> (System, MockServer, (u16, Value)) {
    let system = System::new(OffsetDateTime::now_utc());
    let (status, _) = system
        .deliver(
            "msg_1",
            "subscription.active",
            polo_subscription("active", "prod_pro_monthly"),
        )
        .await;
    assert_eq!(status, 200);
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(reread)
        .mount(&server)
        .await;
    let d = dashboard(
        &system,
        Arc::new(client(&server)),
        settings(BillingProvider::Polo),
    );
    let answer = call(
        &d,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"starter"}"#),
    )
    .await;
    (system, server, answer)
}

#[tokio::test]
async fn a_plan_change_that_failed_after_polo_applied_it_answers_changed_and_records_it() {
    let mut changed = polo_subscription("active", "prod_starter");
    // Polo's state after the change: newer than the webhook's snapshot.
    changed["modified_at"] = (OffsetDateTime::now_utc() + Duration::minutes(1))
        .format(&Rfc3339)
        .unwrap()
        .into();

    let (system, server, (status, body)) =
        plan_change_against(ResponseTemplate::new(200).set_body_json(changed)).await;

    assert_eq!(status, 200, "{body}");
    assert!(body["message"].as_str().unwrap().contains("starter"));
    assert_eq!(system.account().plan_tier, PlanTier::Starter);
    // Every retry of the PATCH carried the same Idempotency-Key.
    let keys: std::collections::BTreeSet<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
}

#[tokio::test]
async fn a_plan_change_that_failed_before_polo_applied_it_answers_not_changed() {
    let unchanged = polo_subscription("active", "prod_pro_monthly");

    let (system, _server, (status, body)) =
        plan_change_against(ResponseTemplate::new(200).set_body_json(unchanged)).await;

    assert_eq!((status, code(&body)), (502, "polo_unavailable"));
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Nothing was charged or changed"));
    assert_eq!(system.account().plan_tier, PlanTier::Pro);
}

#[tokio::test]
async fn a_plan_change_whose_re_read_fails_too_answers_outcome_unknown_never_nothing_changed() {
    let (system, _server, (status, body)) = plan_change_against(ResponseTemplate::new(503)).await;

    assert_eq!((status, code(&body)), (502, "outcome_unknown"));
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("could not confirm"), "{message}");
    assert!(!message.contains("Nothing was charged"), "{message}");
    assert_eq!(system.account().plan_tier, PlanTier::Pro);
}

// ---------------------------------------------------------------------------
// Hostile input: refused before any call, never echoed.

/// A marker put into every hostile value: it must never come back.
const MARK: &str = "ZQXMARK";

fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
    vec![
        (
            "wrong type",
            format!(r#"{{"planTier": ["{MARK}"]}}"#).into_bytes(),
        ),
        ("number for a string", br#"{"planTier": 7531}"#.to_vec()),
        (
            "unknown field",
            format!(r#"{{"planTier":"pro","extra":"{MARK}"}}"#).into_bytes(),
        ),
        (
            "unknown field, not a name",
            format!(r#"{{"planTier":"pro","<{MARK}>":1}}"#).into_bytes(),
        ),
        (
            "unknown enum value",
            format!(r#"{{"planTier":"pro","mode":"{MARK}"}}"#).into_bytes(),
        ),
        (
            "unknown tier",
            format!(r#"{{"planTier":"{MARK}"}}"#).into_bytes(),
        ),
        (
            "huge string",
            format!(r#"{{"planTier":"{}{MARK}"}}"#, "x".repeat(15_000)).into_bytes(),
        ),
        (
            "deeply nested",
            format!(r#"{{"planTier":{nested},"{MARK}":1}}"#).into_bytes(),
        ),
        (
            "invalid UTF-8",
            [
                br#"{"planTier":""#.as_slice(),
                &[0xff, 0xfe],
                MARK.as_bytes(),
                br#""}"#,
            ]
            .concat(),
        ),
        ("not JSON", format!("planTier={MARK}").into_bytes()),
        (
            "1 MB",
            format!(r#"{{"planTier":"{}"}}"#, MARK.repeat(150_000)).into_bytes(),
        ),
        (
            "duplicate field",
            format!(r#"{{"planTier":"pro","planTier":"{MARK}"}}"#).into_bytes(),
        ),
    ]
}

#[tokio::test]
async fn hostile_bodies_are_refused_before_any_call_and_never_echoed() {
    let mut table = Vec::new();
    for route in [Route::Checkout, Route::ChangePlan] {
        for (name, raw) in hostile_bodies() {
            for base64 in [false, true] {
                // Bytes that are not UTF-8 reach a function only base64-encoded.
                let binary = name == "invalid UTF-8";
                if binary && !base64 {
                    continue;
                }
                let (system, polo, d) = in_memory();
                let (status, body) =
                    call_with(&d, route, Some(ACCOUNT), "", Some(&raw), base64).await;

                let text = body.to_string();
                assert!(
                    matches!(code(&body), "invalid_request" | "unknown_plan"),
                    "{route:?} {name}: {text}"
                );
                assert_eq!(status, 400, "{route:?} {name}");
                assert!(!text.contains(MARK), "{route:?} {name} echoed: {text}");
                assert!(!text.contains("7531"), "{route:?} {name} echoed: {text}");
                assert_eq!(polo.calls(), 0, "{route:?} {name}: Polo called");
                assert_eq!(system.accounts.calls(), 0, "{route:?} {name}: store called");
                if base64 == binary {
                    table.push(format!(
                        "{} | {name} | {status} {} | {}",
                        route.route_key(),
                        code(&body),
                        body["message"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
    }
    println!("route | input | answer | message\n{}", table.join("\n"));
}

#[tokio::test]
async fn checkout_ids_that_are_not_ids_are_refused_before_any_polo_call() {
    let bad = [
        ("empty", ""),
        ("dot", "."),
        ("dot dot", ".."),
        ("over-long", &"c".repeat(129) as &str),
        ("slash", "chk%2F1"),
        ("question mark", "chk%3F1"),
        ("hash", "chk%231"),
        ("percent", "chk%251"),
        ("path escape", "..%2Fv1%2Fcustomers"),
        ("non-ASCII", "chk%C3%A9"),
    ];
    for (name, raw) in bad {
        let (system, polo, d) = in_memory();
        let query = format!("checkout_id={raw}");

        let (status, body) = call(&d, Route::Status, Some(ACCOUNT), &query, None).await;

        assert_eq!(
            (status, code(&body)),
            (400, "invalid_request"),
            "{name}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("checkout_id"),
            "{name}"
        );
        assert_eq!(polo.calls(), 0, "{name}");
        assert_eq!(system.accounts.calls(), 0, "{name}");
    }
    // A well-formed id is looked up (and not found here).
    let (_system, polo, d) = in_memory();
    let (status, body) = call(&d, Route::Status, Some(ACCOUNT), "checkout_id=chk_1", None).await;
    assert_eq!((status, code(&body)), (404, "checkout_not_found"), "{body}");
    assert_eq!(polo.calls(), 1);
}

// ---------------------------------------------------------------------------
// Double clicks make one checkout.

/// `n` checkout requests for one account at once, spread over two
/// dashboards (two Lambda instances) sharing the stores and Polo.
async fn concurrent_checkouts(
    n: usize,
    tier: &'static str,
) -> (Arc<billing::polo::memory::InMemoryPolo>, Vec<Value>, System) {
    let system = System::new(OffsetDateTime::now_utc());
    let polo = system.polo.clone();
    let instances = [
        Arc::new(dashboard(
            &system,
            polo.clone(),
            settings(BillingProvider::Polo),
        )),
        Arc::new(dashboard(
            &system,
            polo.clone(),
            settings(BillingProvider::Polo),
        )),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let d = instances[i % 2].clone();
        tasks.spawn(async move {
            let body = format!(r#"{{"planTier":"{tier}"}}"#);
            call(&d, Route::Checkout, Some(ACCOUNT), "", Some(&body)).await
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        answers.push(body);
    }
    (polo, answers, system)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_and_twenty_concurrent_checkouts_for_one_account_make_one_polo_checkout() {
    for n in [2, 20] {
        let (polo, answers, _system) = concurrent_checkouts(n, "pro").await;

        assert_eq!(polo.created_checkouts().len(), 1, "{n} requests");
        let urls: std::collections::BTreeSet<_> =
            answers.iter().map(|a| a["url"].to_string()).collect();
        assert_eq!(urls.len(), 1, "{n} requests, one url: {urls:?}");
        let ids: std::collections::BTreeSet<_> = answers
            .iter()
            .map(|a| a["checkoutId"].to_string())
            .collect();
        assert_eq!(ids.len(), 1);
    }
}

#[tokio::test]
async fn a_spent_checkout_is_stepped_over_alike_by_every_request_and_another_tier_gets_its_own() {
    let (polo, first, system) = concurrent_checkouts(2, "pro").await;
    let id = first[0]["checkoutId"].as_str().unwrap().to_owned();
    // Its hour is up.
    let d = dashboard(&system, polo.clone(), settings(BillingProvider::Polo));
    let spent = {
        use billing::polo::ports::BillingApi;
        let mut s = polo
            .get_checkout(
                &billing::domain::CheckoutId::parse(&id).unwrap(),
                OffsetDateTime::now_utc() + Duration::seconds(5),
            )
            .await
            .unwrap();
        s.state = billing::polo::ports::CheckoutState::Expired;
        s
    };
    polo.put_checkout(spent);

    let (_, again) = call(
        &d,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;
    let (_, again_too) = call(
        &d,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;
    let (_, other_tier) = call(
        &d,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"starter"}"#),
    )
    .await;

    assert_ne!(
        again["checkoutId"], first[0]["checkoutId"],
        "a new checkout"
    );
    assert_eq!(
        again["checkoutId"], again_too["checkoutId"],
        "the same new one for both"
    );
    assert_ne!(other_tier["checkoutId"], again["checkoutId"]);
    assert_eq!(polo.created_checkouts().len(), 3);
}
