use super::*;
use crate::dashboard::Route;
use crate::polo::routing::Endpoint;

fn read_as(vars: &[(&str, &str)], function: Function) -> Result<WebhookConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    WebhookConfig::from_lookup(&|name| map.get(name).cloned(), function)
}

/// `calls_polo`: payment-succeeded (order.paid is confirmed with Polo's API).
fn read_with(vars: &[(&str, &str)], calls_polo: bool) -> Result<WebhookConfig, ConfigError> {
    let endpoint = if calls_polo {
        Endpoint::PaymentSucceeded
    } else {
        Endpoint::SubscriptionCreated
    };
    read_as(vars, Function::Webhook(endpoint))
}

fn read(vars: &[(&str, &str)]) -> Result<WebhookConfig, ConfigError> {
    read_with(vars, false)
}

const DEPLOYED: &[(&str, &str)] = &[
    ("STAGE", "prod"),
    ("POLO_ENVIRONMENT", "production"),
    ("IDEMPOTENCY_TABLE", "billing-idempotency"),
    (
        "POLO_WEBHOOK_SECRET_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:polo-webhook",
    ),
    (
        "CONVEX_SIGNING_SECRET_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:convex-signing",
    ),
    (
        "PROVISIONING_SIGNING_SECRET_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:provisioning-signing",
    ),
    ("POLO_PLAN_ID_STARTER", "prod_s"),
    ("POLO_PLAN_ID_PRO", "prod_p,prod_p_old"),
    ("POLO_PLAN_ID_ENTERPRISE", "prod_e"),
    ("CONVEX_SITE_URL", "https://happy-otter-123.convex.site"),
    (
        "PROVISIONING_URL",
        "https://provisioning.internal.example/v1/entitlements",
    ),
];

const LOCAL: &[(&str, &str)] = &[
    ("STAGE", "local"),
    ("POLO_ENVIRONMENT", "sandbox"),
    ("IDEMPOTENCY_TABLE", "t"),
    ("POLO_WEBHOOK_SECRETS", r#"["whsec_x"]"#),
    ("CONVEX_SIGNING_SECRET", "whsec_c"),
    ("PROVISIONING_SIGNING_SECRET", "whsec_p"),
    ("POLO_PLAN_ID_STARTER", "prod_s"),
    ("POLO_PLAN_ID_PRO", "prod_p"),
    ("POLO_PLAN_ID_ENTERPRISE", "prod_e"),
    ("CONVEX_SITE_URL", "http://127.0.0.1:3210"),
    ("PROVISIONING_URL", "http://127.0.0.1:3000/dev/provisioning"),
];

fn with(
    base: &[(&'static str, &'static str)],
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut vars: Vec<_> = base
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .copied()
        .collect();
    vars.extend(extra.iter().filter(|(_, v)| !v.is_empty()).copied());
    vars
}

#[test]
fn a_complete_deployed_environment_reads_with_defaults() {
    let config = read(DEPLOYED).unwrap();
    assert_eq!(config.stage, Stage::Prod);
    assert_eq!(config.renewal_grace, Duration::hours(24));
    assert_eq!(config.past_due_grace, Duration::ZERO);
    assert!(matches!(&config.secrets, SecretsLocation::SecretsManager(arns) if arns.len() == 3));
    let legacy = crate::domain::ProductId::parse("prod_p_old").unwrap();
    assert_eq!(
        config.catalogue.tier_of(&legacy),
        Some(crate::domain::PlanTier::Pro)
    );
    assert_eq!(config.polo_api_base_url, None);
}

#[test]
fn every_missing_variable_is_named_in_one_error() {
    let text = read(&[]).unwrap_err().to_string();
    for name in [
        "STAGE",
        "POLO_ENVIRONMENT",
        "IDEMPOTENCY_TABLE",
        "POLO_WEBHOOK_SECRET_ARN",
        "CONVEX_SIGNING_SECRET_ARN",
        "PROVISIONING_SIGNING_SECRET_ARN",
        "POLO_PLAN_ID_STARTER",
        "POLO_PLAN_ID_PRO",
        "POLO_PLAN_ID_ENTERPRISE",
        "CONVEX_SITE_URL",
        "PROVISIONING_URL",
    ] {
        assert!(
            text.contains(&format!("{name} is missing")),
            "{name} not named in: {text}"
        );
    }
}

#[test]
fn a_function_that_calls_polo_also_needs_its_api_url_and_key() {
    let text = read_with(DEPLOYED, true).unwrap_err().to_string();
    assert!(
        text.contains("POLO_API_KEY_SECRET_ARN is missing"),
        "{text}"
    );
    assert!(text.contains("POLO_API_BASE_URL is missing"), "{text}");
    let vars = with(
        DEPLOYED,
        &[
            (
                "POLO_API_KEY_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:polo-api-key",
            ),
            ("POLO_API_BASE_URL", "https://api.polo.example"),
        ],
    );
    let config = read_with(&vars, true).unwrap();
    assert_eq!(
        config.polo_api_base_url.unwrap().as_str(),
        "https://api.polo.example/"
    );
}

#[test]
fn malformed_values_are_named_without_echoing_them() {
    let vars = with(
        DEPLOYED,
        &[
            ("STAGE", "production-ish"),
            ("POLO_ENVIRONMENT", "live"),
            ("POLO_WEBHOOK_SECRET_ARN", "whsec_pasted-the-secret-here"),
            ("RENEWAL_GRACE", "one day"),
            ("CONVEX_SITE_URL", "http://convex.example"),
            ("POLO_PLAN_ID_PRO", "prod_p,prod_s"),
        ],
    );
    let err = read(&vars).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("STAGE must be one of local, dev, staging, prod"),
        "{text}"
    );
    assert!(text.contains("POLO_ENVIRONMENT must be one of sandbox, production"));
    assert!(text.contains("POLO_WEBHOOK_SECRET_ARN must be a Secrets Manager ARN"));
    assert!(text.contains("RENEWAL_GRACE must be a duration"));
    assert!(text.contains("CONVEX_SITE_URL must be https"));
    assert!(text.contains("POLO_PLAN_ID_PRO repeats a product id of another tier"));
    assert!(!text.contains("pasted-the-secret") && !text.contains("production-ish"));
}

#[test]
fn production_refuses_a_plain_http_polo_api() {
    let vars = with(
        DEPLOYED,
        &[
            (
                "POLO_API_KEY_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:k",
            ),
            ("POLO_API_BASE_URL", "http://127.0.0.1:9999"),
        ],
    );
    let text = read_with(&vars, true).unwrap_err().to_string();
    assert!(text.contains("POLO_API_BASE_URL must be https"), "{text}");
}

#[test]
fn a_local_stage_may_take_every_secret_and_loopback_urls_from_the_environment() {
    let config = read(&with(LOCAL, &[("PAST_DUE_GRACE", "3d")])).unwrap();
    assert_eq!(config.secrets, SecretsLocation::Environment);
    assert_eq!(config.past_due_grace, Duration::days(3));
    assert_eq!(config.convex_site_url.as_str(), "http://127.0.0.1:3210/");
}

#[test]
fn a_local_stage_missing_one_plain_secret_names_both_ways_to_set_it() {
    let vars = with(LOCAL, &[("PROVISIONING_SIGNING_SECRET", "")]);
    let err = read(&vars).unwrap_err();
    assert_eq!(
        err.problems,
        vec!["PROVISIONING_SIGNING_SECRET_ARN is missing (or, with STAGE=local, PROVISIONING_SIGNING_SECRET)"]
    );
}

#[test]
fn a_deployed_stage_refuses_plain_secrets_in_the_environment() {
    let vars = with(DEPLOYED, &[("POLO_WEBHOOK_SECRETS", r#"["whsec_x"]"#)]);
    let err = read(&vars).unwrap_err();
    assert_eq!(
        err.problems,
        vec!["POLO_WEBHOOK_SECRETS is only allowed with STAGE=local"]
    );
}

#[test]
fn durations_parse_in_each_unit_and_refuse_anything_else() {
    assert_eq!(parse_duration("30s"), Some(Duration::seconds(30)));
    assert_eq!(parse_duration("15m"), Some(Duration::minutes(15)));
    assert_eq!(parse_duration("24h"), Some(Duration::hours(24)));
    assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
    for bad in ["", "h", "-1h", "1.5h", "1w", "24 h"] {
        assert_eq!(parse_duration(bad), None, "{bad:?}");
    }
}

#[test]
fn provisioning_sync_needs_only_the_account_store_and_the_orchestrator() {
    let err = SyncConfig::from_lookup(&|_| None).unwrap_err();
    let text = err.to_string();
    for name in [
        "STAGE",
        "CONVEX_SIGNING_SECRET_ARN",
        "PROVISIONING_SIGNING_SECRET_ARN",
        "CONVEX_SITE_URL",
        "PROVISIONING_URL",
    ] {
        assert!(text.contains(&format!("{name} is missing")), "{text}");
    }
    assert!(!text.contains("IDEMPOTENCY_TABLE") && !text.contains("POLO_WEBHOOK"));
    assert!(!text.contains("PAYPAL"), "{text}");
    let map: HashMap<&str, &str> = DEPLOYED.iter().copied().collect();
    let config = SyncConfig::from_lookup(&|name| map.get(name).map(|v| v.to_string())).unwrap();
    assert!(matches!(config.secrets, SecretsLocation::SecretsManager(ref arns) if arns.len() == 2));
}

#[test]
fn provisioning_sync_reads_paypals_credentials_only_when_there_is_a_paypal_to_call() {
    let vars = with(
        DEPLOYED,
        &[("PAYPAL_API_BASE_URL", "https://api-m.sandbox.paypal.com")],
    );
    let map: HashMap<&str, &str> = vars.iter().copied().collect();
    let err = SyncConfig::from_lookup(&|name| map.get(name).map(|v| v.to_string())).unwrap_err();
    assert_eq!(err.problems, vec!["PAYPAL_SECRET_ARN is missing"]);

    let vars = with(
        &vars,
        &[(
            "PAYPAL_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:paypal",
        )],
    );
    let map: HashMap<&str, &str> = vars.iter().copied().collect();
    let config = SyncConfig::from_lookup(&|name| map.get(name).map(|v| v.to_string())).unwrap();
    assert!(
        matches!(config.secrets, SecretsLocation::SecretsManager(ref arns) if arns.contains_key(&SecretId::Paypal))
    );
}

#[test]
fn the_retry_sweep_needs_no_webhook_secret_and_a_webhook_no_paypal() {
    let mut vars: Vec<(&str, &str)> = DEPLOYED
        .iter()
        .copied()
        .filter(|(k, _)| *k != "POLO_WEBHOOK_SECRET_ARN")
        .collect();
    vars.extend([
        (
            "POLO_API_KEY_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:polo-api-key",
        ),
        ("POLO_API_BASE_URL", "https://api.polo.example"),
    ]);
    let config = read_as(&vars, Function::WebhookRetry).unwrap();
    let SecretsLocation::SecretsManager(arns) = config.secrets else {
        panic!("deployed secrets come from Secrets Manager");
    };
    let mut read: Vec<SecretId> = arns.keys().copied().collect();
    read.sort();
    assert_eq!(
        read,
        vec![
            SecretId::PoloApiKey,
            SecretId::ConvexSigning,
            SecretId::ProvisioningSigning
        ]
    );
    let text = read_as(&vars, Function::Webhook(Endpoint::PaymentFailed))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("POLO_WEBHOOK_SECRET_ARN is missing"),
        "{text}"
    );
}

#[test]
fn checkout_reads_no_provisioning_secret_but_a_plan_change_does() {
    let base: Vec<(&str, &str)> = vec![
        ("STAGE", "prod"),
        ("POLO_ENVIRONMENT", "production"),
        (
            "POLO_API_KEY_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:polo-api-key",
        ),
        (
            "CONVEX_SIGNING_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:convex-signing",
        ),
    ];
    let lookup = |name: &str| {
        base.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let checkout = DashboardConfig::from_lookup(&lookup, Route::Checkout)
        .unwrap_err()
        .to_string();
    let plan = DashboardConfig::from_lookup(&lookup, Route::ChangePlan)
        .unwrap_err()
        .to_string();
    assert!(
        !checkout.contains("PROVISIONING_SIGNING_SECRET_ARN"),
        "{checkout}"
    );
    assert!(
        plan.contains("PROVISIONING_SIGNING_SECRET_ARN is missing"),
        "{plan}"
    );
}

#[test]
fn each_problem_names_its_variable_apart_from_the_sentence_that_names_it_too() {
    let vars = with(
        DEPLOYED,
        &[
            ("STAGE", ""),
            ("POLO_PLAN_ID_PRO", "not a product"),
            ("POLO_WEBHOOK_SECRET_ARN", "plain"),
        ],
    );

    let err = read(&vars).unwrap_err();

    let variables: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(
        variables,
        ["STAGE", "POLO_WEBHOOK_SECRET_ARN", "POLO_PLAN_ID_PRO"]
    );
    for problem in &err.problems {
        assert!(
            problem
                .message
                .starts_with(&format!("{} ", problem.variable)),
            "{problem}"
        );
    }
}

#[test]
fn the_error_reads_as_every_problems_sentence_in_order() {
    let err = ConfigError {
        problems: vec![
            Problem::new("STAGE", "STAGE is missing"),
            Problem::new("", "secrets must all come from one place"),
        ],
    };

    let text = err.to_string();

    assert_eq!(
        text,
        "invalid configuration: STAGE is missing; secrets must all come from one place"
    );
}
