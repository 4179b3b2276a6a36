//! The four dashboard functions, driven with real API Gateway HTTP API v2
//! events (JWT claims in the request context, base64 bodies included) over
//! in-memory ports shared with the webhook side. One test per `code`, the
//! identity rules, and the land-back-upgraded flow.

mod support;

use billing::config::BillingProvider;
use billing::dashboard::{Dashboard, Route};
use billing::domain::{AccountBilling, AccountId, CheckoutId, PaypalLegacy, PlanTier, Provider};
use billing::polo::memory::InMemoryPolo;
use billing::polo::ports::{
    CheckoutSession, CheckoutState, Proration, SubscriptionChange, TrialOffer,
};
use serde_json::{json, Value};
use std::sync::Arc;
use support::dashboard::{call, call_with, dashboard, settings};
use support::system::{sub, System, ACCOUNT};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-10 12:00 UTC);

struct World {
    system: System,
    polo: Arc<InMemoryPolo>,
    dashboard: Dashboard,
}

fn world_with(provider: BillingProvider) -> World {
    let system = System::new(NOW);
    let polo = system.polo.clone();
    let dashboard = dashboard(&system, polo.clone(), settings(provider));
    World {
        system,
        polo,
        dashboard,
    }
}

fn world() -> World {
    world_with(BillingProvider::Polo)
}

impl World {
    /// The account becomes an active pro subscriber through a real webhook.
    async fn subscribe_pro(&self) {
        let s = sub(
            "sub_1",
            "active",
            "prod_pro_monthly",
            "2026-11-01T00:05:00Z",
            "2026-12-01T00:00:00Z",
        );
        self.polo
            .put_subscription(serde_json::from_value(s.clone()).unwrap());
        let (status, _) = self.system.deliver("msg_1", "subscription.active", s).await;
        assert_eq!(status, 200);
    }

    fn account(&self) -> AccountBilling {
        self.system.account()
    }

    fn make_paypal_subscriber(&self, paid_through: OffsetDateTime) {
        let mut account = self.account();
        account.provider = Provider::Paypal;
        account.plan_tier = PlanTier::Pro;
        account.paypal = Some(PaypalLegacy {
            subscription_id: "I-BW452GLLEP1G".into(),
            tier: PlanTier::Pro,
            paid_through,
        });
        self.system.accounts.insert(account);
    }
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn a_request_without_the_account_claim_is_refused_401_and_nothing_is_called() {
    let w = world();
    for route in Route::ALL {
        let (status, body) =
            call(&w.dashboard, route, None, "", Some(r#"{"planTier":"pro"}"#)).await;
        assert_eq!((status, code(&body)), (401, "unauthenticated"), "{route:?}");
        assert_eq!(body["ok"], false);
    }
    assert_eq!(w.polo.calls(), 0);
    assert_eq!(w.system.accounts.calls(), 0);
}

#[tokio::test]
async fn a_malformed_body_is_refused_naming_the_field_before_any_call() {
    let w = world();
    let cases = [
        ("", "body"),
        ("not json", "body"),
        (r#"{}"#, "planTier"),
        (r#"{"planTier": 3}"#, "planTier"),
        (r#"{"planTier":"pro","mode":"popup"}"#, "mode"),
        (
            r#"{"planTier":"pro","accountId":"acct_other"}"#,
            "accountId",
        ),
    ];
    for (raw, field) in cases {
        let (status, body) =
            call(&w.dashboard, Route::Checkout, Some(ACCOUNT), "", Some(raw)).await;
        assert_eq!((status, code(&body)), (400, "invalid_request"), "{raw}");
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{raw}: {body}"
        );
    }
    let oversized = format!(r#"{{"planTier":"{}"}}"#, "p".repeat(20_000));
    let (status, body) = call(
        &w.dashboard,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(&oversized),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "invalid_request"));
    assert_eq!(w.polo.calls(), 0);
}

#[tokio::test]
async fn a_plan_that_is_not_sold_is_refused_as_unknown_plan() {
    let w = world();
    for tier in ["gold", "free", "PRO"] {
        let body = format!(r#"{{"planTier":"{tier}"}}"#);
        let (status, answer) = call(
            &w.dashboard,
            Route::Checkout,
            Some(ACCOUNT),
            "",
            Some(&body),
        )
        .await;
        assert_eq!((status, code(&answer)), (400, "unknown_plan"), "{tier}");
    }
    assert_eq!(w.polo.calls(), 0);
}

#[tokio::test]
async fn checkout_creates_one_polo_checkout_for_the_callers_account_and_answers_its_url() {
    let w = world();

    let (status, body) = call(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["code"], Value::Null);
    assert_eq!(body["mode"], "redirect");
    assert_eq!(body["provider"], "polo");
    assert_eq!(body["checkoutId"], "chk_mem_1");
    assert!(body["url"]
        .as_str()
        .unwrap()
        .starts_with("https://sandbox.polo.example/"));
    assert!(body["expiresAt"].is_string());
    assert!(body.get("clientSecret").is_none());
    let created = w.polo.created_checkouts();
    assert_eq!(created.len(), 1);
    let c = &created[0];
    assert_eq!(c.account.as_str(), ACCOUNT);
    assert_eq!(c.tier, PlanTier::Pro);
    assert_eq!(c.product.as_str(), "prod_pro_monthly");
    assert_eq!(
        c.success_url,
        "https://app.example.com/billing?checkout_id={CHECKOUT_ID}"
    );
    assert_eq!(c.return_url, "https://app.example.com/billing");
    assert_eq!(c.embed_origin, None);
    assert_eq!(c.trial, TrialOffer::ProductDefault);
    assert_eq!(w.account().version, 0, "a checkout writes nothing");
}

#[tokio::test]
async fn an_embedded_checkout_sets_the_embed_origin_and_returns_the_client_secret() {
    let w = world();

    let (status, body) = call_with(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(br#"{"planTier":"enterprise","mode":"embedded"}"#),
        true,
    )
    .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "embedded");
    assert_eq!(body["clientSecret"], "cs_mem_1");
    let created = w.polo.created_checkouts();
    assert_eq!(
        created[0].embed_origin.as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(created[0].product.as_str(), "prod_enterprise");
    assert!(
        !w.system.logs.text().contains("cs_mem_1"),
        "the client secret never reaches a log"
    );
}

#[tokio::test]
async fn a_body_with_bytes_after_its_json_value_is_refused_and_nothing_is_created() {
    let w = world();

    let (status, body) = call(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}x"#),
    )
    .await;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_request");
    assert!(w.polo.created_checkouts().is_empty());
}

#[tokio::test]
async fn checkout_is_refused_while_an_entitled_polo_subscription_exists() {
    let w = world();
    w.subscribe_pro().await;
    let calls_before = w.polo.calls();

    let (status, body) = call(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"enterprise"}"#),
    )
    .await;

    assert_eq!((status, code(&body)), (409, "already_subscribed"));
    assert!(body["message"].as_str().unwrap().contains("Polo"));
    assert_eq!(w.polo.calls(), calls_before);
}

#[tokio::test]
async fn a_paypal_subscriber_checks_out_with_a_trial_covering_the_paid_days() {
    let w = world();
    w.make_paypal_subscriber(datetime!(2026-11-24 00:00 UTC));

    let (status, body) = call(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;

    assert_eq!(status, 200, "{body}");
    // 13.5 days left: 14 trial days (no lost day), billing starts after.
    assert_eq!(w.polo.created_checkouts()[0].trial, TrialOffer::Days(14));
}

#[tokio::test]
async fn with_billing_provider_paypal_checkout_and_portal_answer_the_paypal_urls() {
    let w = world_with(BillingProvider::Paypal);

    let (status, checkout) = call(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;
    let (portal_status, portal) = call(&w.dashboard, Route::Portal, Some(ACCOUNT), "", None).await;

    assert_eq!((status, code(&checkout)), (200, "provider_paypal"));
    assert_eq!(checkout["ok"], true);
    assert_eq!(checkout["provider"], "paypal");
    assert_eq!(
        checkout["url"],
        "https://www.paypal.com/webapps/billing/plans/subscribe"
    );
    assert!(checkout["message"].as_str().unwrap().contains("PayPal"));
    assert_eq!((portal_status, code(&portal)), (200, "provider_paypal"));
    assert_eq!(portal["url"], "https://www.paypal.com/myaccount/autopay/");
    assert_eq!(w.polo.calls(), 0);
}

#[tokio::test]
async fn portal_answers_a_fresh_polo_link_per_call() {
    let w = world();
    w.subscribe_pro().await;

    let (s1, first) = call(&w.dashboard, Route::Portal, Some(ACCOUNT), "", None).await;
    let (s2, second) = call(&w.dashboard, Route::Portal, Some(ACCOUNT), "", None).await;

    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["provider"], "polo");
    assert_ne!(first["url"], second["url"]);
    assert_eq!(w.polo.portal_sessions().len(), 2);
    assert_eq!(w.polo.portal_sessions()[0].as_str(), ACCOUNT);
}

#[tokio::test]
async fn portal_for_an_account_with_no_billing_history_is_no_subscription() {
    let w = world();

    let (status, body) = call(&w.dashboard, Route::Portal, Some(ACCOUNT), "", None).await;

    assert_eq!((status, code(&body)), (409, "no_subscription"));
    assert_eq!(w.polo.calls(), 0);
}

#[tokio::test]
async fn portal_for_a_paypal_subscriber_answers_the_paypal_management_page() {
    let w = world();
    w.make_paypal_subscriber(datetime!(2026-11-24 00:00 UTC));

    let (status, body) = call(&w.dashboard, Route::Portal, Some(ACCOUNT), "", None).await;

    assert_eq!((status, code(&body)), (200, "provider_paypal"));
    assert_eq!(body["url"], "https://www.paypal.com/myaccount/autopay/");
    assert!(body["message"].as_str().unwrap().contains("PayPal"));
}

#[tokio::test]
async fn status_answers_the_stored_billing_state() {
    let w = world();
    w.subscribe_pro().await;

    let (status, body) = call(&w.dashboard, Route::Status, Some(ACCOUNT), "", None).await;

    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "accountId": ACCOUNT,
            "provider": "polo",
            "planTier": "pro",
            "billingStatus": "active",
            "entitled": true,
            "premiumExpiresAt": "2026-12-01T00:00:00Z",
            "renewsAt": "2026-12-01T00:00:00Z",
            "cancelAtPeriodEnd": false,
            "trialEndsAt": null
        })
    );
}

#[tokio::test]
async fn status_with_a_malformed_checkout_id_is_refused_before_any_polo_call() {
    let w = world();

    let (status, body) = call(
        &w.dashboard,
        Route::Status,
        Some(ACCOUNT),
        "checkout_id=%2E%2E%2Fv1%2Fsubscriptions%2F%20x",
        None,
    )
    .await;

    assert_eq!((status, code(&body)), (400, "invalid_request"));
    assert!(body["message"].as_str().unwrap().contains("checkout_id"));
    assert_eq!(w.polo.calls(), 0);
}

fn succeeded_checkout(id: &str, account: &str, subscription: &str) -> CheckoutSession {
    CheckoutSession {
        id: CheckoutId::parse(id).unwrap(),
        url: format!("https://sandbox.polo.example/checkout/{id}"),
        client_secret: None,
        state: CheckoutState::Succeeded,
        expires_at: NOW + time::Duration::hours(1),
        account: Some(AccountId::parse(account).unwrap()),
        subscription: Some(billing::domain::SubscriptionId::parse(subscription).unwrap()),
    }
}

#[tokio::test]
async fn status_with_another_accounts_checkout_is_checkout_not_found_and_applies_nothing() {
    let w = world();
    w.polo
        .put_checkout(succeeded_checkout("chk_other", "acct_other", "sub_other"));
    let mut other = sub(
        "sub_other",
        "active",
        "prod_pro_monthly",
        "2026-11-01T00:05:00Z",
        "2026-12-01T00:00:00Z",
    );
    other["customer"]["external_id"] = "acct_other".into();
    other["metadata"]["accountId"] = "acct_other".into();
    w.polo
        .put_subscription(serde_json::from_value(other).unwrap());
    let before = w.account();

    let (status, body) = call(
        &w.dashboard,
        Route::Status,
        Some(ACCOUNT),
        "checkout_id=chk_other",
        None,
    )
    .await;

    assert_eq!((status, code(&body)), (404, "checkout_not_found"));
    assert_eq!(w.account(), before, "nothing applied");
    assert!(w.system.pushes().is_empty());
    assert_eq!(w.polo.calls(), 1, "the subscription was never fetched");
}

#[tokio::test]
async fn status_with_an_unknown_checkout_is_checkout_not_found() {
    let w = world();

    let (status, body) = call(
        &w.dashboard,
        Route::Status,
        Some(ACCOUNT),
        "checkout_id=chk_nope",
        None,
    )
    .await;

    assert_eq!((status, code(&body)), (404, "checkout_not_found"));
}

#[tokio::test]
async fn landing_back_from_a_succeeded_checkout_upgrades_the_account_and_issues_credentials() {
    let w = world();
    let (_, created) = call(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;
    let checkout_id = created["checkoutId"].as_str().unwrap().to_owned();
    // The user pays on Polo's page: the checkout succeeds with a subscription.
    w.polo
        .put_checkout(succeeded_checkout(&checkout_id, ACCOUNT, "sub_1"));
    w.polo.put_subscription(
        serde_json::from_value(sub(
            "sub_1",
            "active",
            "prod_pro_monthly",
            "2026-11-10T11:59:00Z",
            "2026-12-10T11:59:00Z",
        ))
        .unwrap(),
    );
    let query = format!("checkout_id={checkout_id}");

    let (status, body) = call(&w.dashboard, Route::Status, Some(ACCOUNT), &query, None).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["planTier"], "pro");
    assert_eq!(body["billingStatus"], "active");
    assert_eq!(body["entitled"], true);
    assert_eq!(
        body["checkout"],
        json!({"id": checkout_id, "status": "succeeded"})
    );
    let decision = w.system.decision().expect("credentials pushed");
    assert!(decision.entitled);
    assert_eq!(decision.tier, PlanTier::Pro);
    assert!(!w.account().needs_push(), "the push was acknowledged");
    let audit = w
        .system
        .accounts
        .audit_rows(&AccountId::parse(ACCOUNT).unwrap());
    assert_eq!(audit[0].event_type, "checkout.succeeded");

    // Reloading the page changes nothing more.
    let pushes = w.system.pushes().len();
    let (again, _) = call(&w.dashboard, Route::Status, Some(ACCOUNT), &query, None).await;
    assert_eq!(again, 200);
    assert_eq!(w.system.pushes().len(), pushes);
}

#[tokio::test]
async fn status_of_an_open_checkout_reports_its_progress_and_changes_nothing() {
    let w = world();
    let (_, created) = call(
        &w.dashboard,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"starter"}"#),
    )
    .await;
    let query = format!("checkout_id={}", created["checkoutId"].as_str().unwrap());

    let (status, body) = call(&w.dashboard, Route::Status, Some(ACCOUNT), &query, None).await;

    assert_eq!(status, 200);
    assert_eq!(body["checkout"]["status"], "open");
    assert_eq!(body["planTier"], "free");
    assert_eq!(w.account().version, 0);
}

#[tokio::test]
async fn change_plan_moves_the_subscription_to_the_new_tier_and_applies_it() {
    let w = world();
    w.subscribe_pro().await;

    let (status, body) = call(
        &w.dashboard,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"starter"}"#),
    )
    .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["provider"], "polo");
    let (id, change) = w.polo.updates().pop().unwrap();
    assert_eq!(id.as_str(), "sub_1");
    assert_eq!(
        change,
        SubscriptionChange::Product {
            product: billing::domain::ProductId::parse("prod_starter").unwrap(),
            proration: Proration::NextInvoice,
        }
    );
    assert_eq!(w.account().plan_tier, PlanTier::Starter);
    assert_eq!(w.system.decision().unwrap().tier, PlanTier::Starter);
}

#[tokio::test]
async fn an_upgrade_is_invoiced_now() {
    let w = world();
    w.subscribe_pro().await;

    let (status, _) = call(
        &w.dashboard,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"enterprise"}"#),
    )
    .await;

    assert_eq!(status, 200);
    let (_, change) = w.polo.updates().pop().unwrap();
    assert!(matches!(
        change,
        SubscriptionChange::Product {
            proration: Proration::ChargeNow,
            ..
        }
    ));
    assert_eq!(w.account().plan_tier, PlanTier::Enterprise);
}

#[tokio::test]
async fn change_plan_to_the_current_tier_is_same_plan_and_calls_nothing() {
    let w = world();
    w.subscribe_pro().await;
    let calls = w.polo.calls();

    let (status, body) = call(
        &w.dashboard,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;

    assert_eq!((status, code(&body)), (409, "same_plan"));
    assert_eq!(w.polo.calls(), calls);
}

#[tokio::test]
async fn change_plan_without_a_subscription_is_no_subscription() {
    let w = world();

    let (status, body) = call(
        &w.dashboard,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;

    assert_eq!((status, code(&body)), (409, "no_subscription"));
    assert_eq!(w.polo.calls(), 0);
}

#[tokio::test]
async fn polo_failing_answers_polo_unavailable_or_outcome_unknown_and_writes_nothing() {
    let w = world();
    w.subscribe_pro().await;
    w.polo.set_failing(true);
    let before = w.account();

    let (s1, checkout) = call(&w.dashboard, Route::Portal, Some(ACCOUNT), "", None).await;
    let (s2, plan) = call(
        &w.dashboard,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"starter"}"#),
    )
    .await;

    assert_eq!((s1, code(&checkout)), (502, "polo_unavailable"));
    // The plan change may have reached Polo and its re-read failed too: the
    // answer cannot say "nothing changed".
    assert_eq!((s2, code(&plan)), (502, "outcome_unknown"));
    assert!(plan["message"].as_str().unwrap().contains("Polo"));
    assert_eq!(w.account(), before);
}

#[tokio::test]
async fn a_polo_url_off_the_allow_list_is_never_returned() {
    let system = System::new(NOW);
    let mut strict = settings(BillingProvider::Polo);
    strict.urls.allowed_hosts = vec!["polo.example".into()];
    let d = dashboard(&system, system.polo.clone(), strict);

    let (status, body) = call(
        &d,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;

    assert_eq!((status, code(&body)), (500, "internal"));
    assert_eq!(body["url"], Value::Null);
    assert!(!body.to_string().contains("sandbox.polo.example"));
    assert!(system.logs.text().contains("POLO_ALLOWED_HOSTS"));
}
