//! docs/openapi.yaml is the dashboard team's contract. Every dashboard test
//! already validates each real handler answer against it (support::
//! dashboard::call); these tests check the document itself: its codes are
//! exactly the handlers' codes, each under its status, its examples match
//! its schemas, and the checker does refuse a wrong answer.

mod support;

use billing::dashboard::{Code, Route};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::openapi::{contract, escape};

#[test]
fn the_documented_codes_are_exactly_the_codes_the_handlers_answer() {
    let documented: BTreeSet<String> = contract()
        .doc
        .pointer("/components/schemas/Code/enum")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let answered: BTreeSet<String> = Code::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(documented, answered);
}

#[test]
fn every_route_documents_the_statuses_of_the_codes_it_can_answer() {
    let common = [Code::Unauthenticated, Code::Internal, Code::PoloUnavailable];
    let per_route: [(Route, &[Code]); 4] = [
        (
            Route::Checkout,
            &[
                Code::InvalidRequest,
                Code::UnknownPlan,
                Code::AlreadySubscribed,
                Code::ProviderPaypal,
            ],
        ),
        (Route::Portal, &[Code::NoSubscription, Code::ProviderPaypal]),
        (
            Route::Status,
            &[Code::InvalidRequest, Code::CheckoutNotFound],
        ),
        (
            Route::ChangePlan,
            &[
                Code::InvalidRequest,
                Code::UnknownPlan,
                Code::NoSubscription,
                Code::SamePlan,
                Code::ProviderPaypal,
                Code::OutcomeUnknown,
            ],
        ),
    ];
    for (route, codes) in per_route {
        for code in common.iter().chain(codes) {
            assert!(
                contract()
                    .response_schema(route.route_key(), code.status())
                    .is_some(),
                "{} does not document {} for {}",
                route.route_key(),
                code.status(),
                code.as_str()
            );
        }
        assert!(contract().response_schema(route.route_key(), 200).is_some());
    }
}

/// Every example (request and response) validates against its own schema.
#[test]
fn every_example_in_the_contract_matches_its_schema() {
    let doc = &contract().doc;
    let mut checked = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let base = format!("/paths/{}/{method}", escape(path));
            let mut media = Vec::new();
            if operation.get("requestBody").is_some() {
                media.push(format!("{base}/requestBody/content/application~1json"));
            }
            for (status, _) in operation["responses"].as_object().unwrap() {
                let route_key = format!("{} {path}", method.to_uppercase());
                let schema = contract()
                    .response_schema(&route_key, status.parse().unwrap())
                    .unwrap();
                media.push(schema.trim_end_matches("/schema").to_owned());
            }
            for pointer in media {
                let content = doc.pointer(&pointer).unwrap();
                let schema = format!("{pointer}/schema");
                let mut examples: Vec<Value> = Vec::new();
                if let Some(example) = content.get("example") {
                    examples.push(example.clone());
                }
                if let Some(named) = content.get("examples").and_then(Value::as_object) {
                    examples.extend(named.values().map(|e| e["value"].clone()));
                }
                for example in examples {
                    contract()
                        .validate(&schema, &example)
                        .unwrap_or_else(|e| panic!("{pointer}: {e}"));
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} examples found");
}

#[test]
fn the_checker_refuses_answers_that_break_the_contract() {
    let ok = json!({"ok": true, "url": null, "message": "done", "code": null, "provider": "polo"});
    let route = Route::ChangePlan.route_key();
    assert!(contract().check(route, 200, &ok).is_ok());
    let broken = [
        (200, json!({"ok": true, "url": null, "message": "done"})),
        (
            200,
            json!({"ok": true, "url": null, "message": "m", "code": null, "extra": 1}),
        ),
        (
            200,
            json!({"ok": "yes", "url": null, "message": "m", "code": null}),
        ),
        (
            409,
            json!({"ok": false, "url": null, "message": "m", "code": "made_up"}),
        ),
        (
            409,
            json!({"ok": true, "url": null, "message": "m", "code": "same_plan"}),
        ),
        (
            418,
            json!({"ok": false, "url": null, "message": "m", "code": "internal"}),
        ),
    ];
    for (status, body) in broken {
        assert!(
            contract().check(route, status, &body).is_err(),
            "{status} {body} passed"
        );
    }
    let status = Route::Status.route_key();
    let bad_time = json!({
        "accountId": "a", "provider": "polo", "planTier": "pro", "billingStatus": "active",
        "entitled": true, "premiumExpiresAt": "next tuesday", "renewsAt": null,
        "cancelAtPeriodEnd": false, "trialEndsAt": null
    });
    assert!(contract().check(status, 200, &bad_time).is_err());
}
