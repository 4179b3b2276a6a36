//! template.yaml as CloudFormation receives it (expanded by the SAM
//! translator: `scripts/expand-template.py`), checked against the code:
//! each function is granted exactly the secrets its configuration reads
//! (`billing::config::Function::secrets`) and handed only the variables it
//! reads; every route is private unless it is a Polo webhook; every route
//! has its own throttle; a failed scheduled run is not retried and lands in
//! an alarmed queue. The per-function table in docs/DEPLOY_HARDENING.md is
//! rendered here from the expanded template (`UPDATE_DOCS=1` rewrites it).

#[path = "support/template.rs"]
mod template;

use billing::config::{
    secret_variables, DashboardConfig, Function, ReconcileConfig, SyncConfig, WebhookConfig,
};
use std::cell::RefCell;
use std::collections::BTreeSet;
use template::*;

#[test]
fn every_function_is_granted_exactly_the_secrets_its_configuration_reads() {
    for (binary, (function, id)) in functions() {
        let expected: BTreeSet<String> = function
            .secrets()
            .iter()
            .map(|&s| secret_resource(id, s))
            .collect();
        assert_eq!(granted_secrets(id), expected, "{binary}");
        let handed = variables(id);
        let arn_variables: BTreeSet<&str> = handed
            .keys()
            .map(String::as_str)
            .filter(|k| k.ends_with("_SECRET_ARN"))
            .collect();
        let read: BTreeSet<&str> = function
            .secrets()
            .iter()
            .map(|&s| secret_variables(s).0)
            .collect();
        assert_eq!(arn_variables, read, "{binary}: secret ARN variables");
    }
}

/// A deployed-looking value for every variable, so each parser takes its
/// deployed branches (PayPal's credentials are read once PayPal is set).
fn plausible(name: &str) -> Option<String> {
    let value = match name {
        "STAGE" => "prod",
        "POLO_ENVIRONMENT" => "production",
        "POLO_PLAN_ID_STARTER" => "prod_s",
        "POLO_PLAN_ID_PRO" => "prod_p",
        "POLO_PLAN_ID_ENTERPRISE" => "prod_e",
        "POLO_ALLOWED_HOSTS" => "polo.example",
        "BILLING_PROVIDER" => "polo",
        "ACCOUNT_ID_CLAIM" => "sub",
        "IDEMPOTENCY_TABLE" => "table",
        "APP_BASE_URL" => "https://app.example",
        n if n.ends_with("_GRACE") => "1h",
        n if n.ends_with("_SECRET_ARN") => "arn:aws:secretsmanager:us-east-1:1:secret:x",
        n if n.ends_with("_URL") => "https://dependency.example",
        _ => return None,
    };
    Some(value.to_owned())
}

/// Every variable the function's configuration asks for.
fn read_by(function: Function) -> BTreeSet<String> {
    let seen = RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        seen.borrow_mut().insert(name.to_owned());
        plausible(name)
    };
    let problems = match function {
        Function::Dashboard(route) => DashboardConfig::from_lookup(&lookup, route).err(),
        Function::Webhook(_) | Function::WebhookRetry => {
            WebhookConfig::from_lookup(&lookup, function).err()
        }
        Function::ProvisioningSync => SyncConfig::from_lookup(&lookup).err(),
        Function::Reconcile => ReconcileConfig::from_lookup(&lookup).err(),
    };
    assert!(problems.is_none(), "{}: {problems:?}", function.binary());
    seen.into_inner()
}

#[test]
fn every_function_is_handed_only_variables_its_configuration_reads() {
    // Read by the telemetry set-up, not by a configuration.
    let telemetry = ["RUST_LOG"];
    for (binary, (function, id)) in functions() {
        let read = read_by(function);
        let unread: Vec<String> = variables(id)
            .into_keys()
            .filter(|k| !read.contains(k) && !telemetry.contains(&k.as_str()))
            .collect();
        assert!(
            unread.is_empty(),
            "{binary} is handed {unread:?}, which it never reads"
        );
    }
}

#[test]
fn webhook_routes_are_public_by_decision_and_every_other_route_needs_the_dashboard_jwt() {
    let mut routed = 0;
    for (binary, (function, id)) in functions() {
        let Some((method, path)) = route_of(function) else {
            continue;
        };
        routed += 1;
        let operation = &api_paths()[&path][&method];
        let uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            .as_str()
            .unwrap_or_default();
        assert!(uri.contains(&format!("${{{id}.Arn}}")), "{binary}: {uri}");
        let expected = if matches!(function, Function::Webhook(_)) {
            "NONE"
        } else {
            "DashboardJwt"
        };
        assert_eq!(
            operation["security"],
            serde_json::json!([{ expected: [] }]),
            "{binary}"
        );
    }
    assert_eq!(routed, api_paths().len(), "a route without a function");
    assert_eq!(routed, 9);
    // The default a route added later gets, before anyone decides otherwise.
    let defaults = &resources()["HttpApi"]["Properties"]["Body"];
    assert!(defaults["components"]["securitySchemes"]["DashboardJwt"].is_object());
}

#[test]
fn every_function_may_write_only_its_own_log_group_and_has_no_managed_policy() {
    for (binary, (_, id)) in functions() {
        let role = resources()[id]["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_default();
        assert!(
            resources()[role]["Properties"]["ManagedPolicyArns"].is_null(),
            "{binary}: a managed policy grants more than the function reads"
        );
        let own = resources()[id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"].clone();
        let log_statements: Vec<serde_json::Value> = statements(id)
            .into_iter()
            .filter(|s| actions(s).iter().any(|a| a.starts_with("logs:")))
            .collect();
        assert!(!log_statements.is_empty(), "{binary} cannot log");
        for statement in log_statements {
            assert_eq!(
                statement["Resource"]["Fn::GetAtt"],
                serde_json::json!([own, "Arn"]),
                "{binary}: logs beyond its own group"
            );
            let mut granted = actions(&statement);
            granted.sort();
            assert_eq!(
                granted,
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                "{binary}"
            );
        }
        for statement in statements(id) {
            for action in actions(&statement) {
                assert!(
                    !action.ends_with(":*") && action != "*",
                    "{binary}: {action}"
                );
            }
        }
    }
}
