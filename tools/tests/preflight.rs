//! The `preflight` command, run as ops run it: against environment files,
//! the real template.yaml and samconfig.toml, and events/env.json. A release
//! environment missing any one variable is refused naming exactly that
//! variable; a plain secret on a deployed stage is refused without echoing it.

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A complete `dev` release environment. STAGE and POLO_ENVIRONMENT are
/// also in samconfig.toml [dev]; ALARM_EMAIL has a default.
const COMPLETE_DEV: &str = "\
# dev: the sandbox stack
STAGE=dev
POLO_ENVIRONMENT=sandbox
POLO_API_BASE_URL=https://sandbox-api.polo.example
POLO_ALLOWED_HOSTS=sandbox.polo.example
POLO_PLAN_ID_STARTER=prod_dev_starter
POLO_PLAN_ID_PRO=prod_dev_pro,prod_dev_pro_2025
POLO_PLAN_ID_ENTERPRISE=prod_dev_enterprise
CONVEX_SITE_URL=https://happy-otter-123.convex.site
PROVISIONING_URL=https://orchestrator.dev.example.com/v1/provisioning
APP_BASE_URL=https://app.dev.example.com
PAYPAL_CHECKOUT_URL=https://www.sandbox.paypal.com/checkoutnow
PAYPAL_MANAGE_URL=https://www.sandbox.paypal.com/myaccount/autopay
PAYPAL_API_BASE_URL=https://api-m.sandbox.paypal.com
JWT_ISSUER=https://auth.dev.example.com/
JWT_AUDIENCE=billing-dashboard
export ALARM_EMAIL=\"oncall@example.com\"
";

/// Variables the file may leave out: samconfig [dev] or a default supplies them.
const SUPPLIED_ELSEWHERE: [&str; 3] = ["STAGE", "POLO_ENVIRONMENT", "ALARM_EMAIL"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// The variables the problems are about: each problem line starts with
    /// the variable (or variables) it names.
    fn named_variables(&self) -> BTreeSet<String> {
        let leading = Regex::new(r"^  - ((?:[A-Z][A-Z0-9_]*(?:, )?)+)(?::| )").unwrap();
        self.stdout
            .lines()
            .filter(|l| l.starts_with("  - "))
            .map(|l| match leading.captures(l) {
                Some(names) => names[1].to_owned(),
                None => format!("(a problem naming no variable: {l})"),
            })
            .flat_map(|names| names.split(", ").map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }
}

fn preflight(args: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("preflight runs");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes `text` to a file of its own under the test's temp dir.
fn env_file(name: &str, text: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("preflight");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn without(variable: &str) -> String {
    COMPLETE_DEV
        .lines()
        .filter(|l| {
            let l = l.trim_start_matches("export ");
            !l.starts_with(&format!("{variable}="))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn variables_of(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_start_matches("export ").split_once('='))
        .map(|(k, _)| k.to_owned())
        .collect()
}

#[test]
fn a_complete_release_environment_file_is_ready() {
    let file = env_file("complete.env", COMPLETE_DEV);
    let out = preflight(&[&file]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("ready: no problem found"),
        "{}",
        out.stdout
    );
    for kind in [
        "DashboardConfig: checkout, portal, status, change-plan",
        "WebhookConfig: webhook-subscription-created",
        "WebhookConfig with Polo: webhook-payment-succeeded",
        "SyncConfig: provisioning-sync",
    ] {
        assert!(
            out.stdout.contains(kind),
            "{kind} not checked:\n{}",
            out.stdout
        );
    }
}

#[test]
fn removing_any_one_required_variable_refuses_the_file_naming_exactly_that_variable() {
    let required: Vec<String> = variables_of(COMPLETE_DEV)
        .into_iter()
        .filter(|v| !SUPPLIED_ELSEWHERE.contains(&v.as_str()))
        .collect();
    assert!(required.len() >= 12, "{required:?}");
    for variable in required {
        let file = env_file(&format!("without-{variable}.env"), &without(&variable));
        let out = preflight(&[&file]);
        assert_eq!(out.code, Some(1), "without {variable}:\n{}", out.stdout);
        assert_eq!(
            out.named_variables(),
            BTreeSet::from([variable.clone()]),
            "without {variable}:\n{}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!("{variable} is missing")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn samconfig_and_defaults_supply_what_the_file_leaves_out() {
    let mut text = COMPLETE_DEV.to_owned();
    for variable in SUPPLIED_ELSEWHERE {
        text = text
            .lines()
            .filter(|l| {
                !l.trim_start_matches("export ")
                    .starts_with(&format!("{variable}="))
            })
            .map(|l| format!("{l}\n"))
            .collect();
    }
    let file = env_file("supplied-elsewhere.env", &text);
    let out = preflight(&["--config-env", "dev", &file]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
}

#[test]
fn a_deployed_stage_with_a_plain_secret_is_refused_without_echoing_it() {
    let webhook_secret = "whsec_bm90LWEtcmVhbC1zZWNyZXQtanVzdC1hLXRlc3Q=";
    let api_key = "polo_sk_preflight_test_value";
    let text = format!(
        "{COMPLETE_DEV}POLO_WEBHOOK_SECRETS=[\"{webhook_secret}\"]\nPOLO_API_KEY={api_key}\n"
    );
    let file = env_file("plain-secret.env", &text);
    let out = preflight(&[&file]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        out.named_variables(),
        BTreeSet::from(["POLO_WEBHOOK_SECRETS".to_owned(), "POLO_API_KEY".to_owned()]),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("POLO_API_KEY is a plain secret"));
    for value in [webhook_secret, api_key] {
        assert!(!out.stdout.contains(value) && !out.stderr.contains(value));
    }
}

#[test]
fn a_malformed_value_is_refused_by_its_variable() {
    let text = without("POLO_API_BASE_URL") + "POLO_API_BASE_URL=http://sandbox-api.polo.example\n";
    let file = env_file("plain-http.env", &text);
    let out = preflight(&[&file]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        out.named_variables(),
        BTreeSet::from(["POLO_API_BASE_URL".to_owned()]),
        "{}",
        out.stdout
    );
}

#[test]
fn a_file_for_another_stage_is_refused_for_this_release() {
    let file = env_file("complete-for-dev.env", COMPLETE_DEV);
    let out = preflight(&["--config-env", "staging", &file]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(out.named_variables().contains("STAGE"), "{}", out.stdout);
}

#[test]
fn a_misspelt_variable_is_refused() {
    let text = format!("{COMPLETE_DEV}POLO_API_BASEURL=https://x.example\n");
    let file = env_file("misspelt.env", &text);
    let out = preflight(&[&file]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        out.named_variables(),
        BTreeSet::from(["POLO_API_BASEURL".to_owned()]),
        "{}",
        out.stdout
    );
}

#[test]
fn the_deployed_stacks_own_values_may_be_in_the_file_and_are_checked() {
    let arn =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:polo-billing/dev/polo-api-key-AbCdEf";
    let deployed = format!(
        "{COMPLETE_DEV}AWS_REGION=us-east-1\nIDEMPOTENCY_TABLE=polo-billing-dev-IdempotencyTable-1A2B3C\nPOLO_API_KEY_SECRET_ARN={arn}\n"
    );
    let file = env_file("deployed.env", &deployed);
    let out = preflight(&[&file]);
    assert_eq!(out.code, Some(0), "{}", out.stdout);

    let wrong = deployed.replace(arn, "polo-billing/dev/polo-api-key");
    let file = env_file("deployed-wrong-arn.env", &wrong);
    let out = preflight(&[&file]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        out.named_variables(),
        BTreeSet::from(["POLO_API_KEY_SECRET_ARN".to_owned()]),
        "{}",
        out.stdout
    );
}

#[test]
fn a_custom_domain_without_its_certificate_is_refused() {
    let text = format!("{COMPLETE_DEV}API_DOMAIN_NAME=billing-api.dev.example.com\n");
    let file = env_file("domain-without-certificate.env", &text);
    let out = preflight(&[&file]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.named_variables().contains("API_DOMAIN_CERTIFICATE_ARN"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_overrides_file_carries_every_parameter_from_the_file_and_samconfig() {
    let file = env_file("for-overrides.env", &without("STAGE"));
    let overrides = Path::new(env!("CARGO_TARGET_TMPDIR")).join("preflight/parameters-dev.yaml");
    let _ = std::fs::remove_file(&overrides);
    let out = preflight(&[
        "--config-env",
        "dev",
        "--write-overrides",
        &overrides.to_string_lossy(),
        &file,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&overrides).unwrap()).unwrap();
    assert_eq!(written["Stage"], "dev", "from samconfig [dev]");
    assert_eq!(
        written["PoloApiBaseUrl"],
        "https://sandbox-api.polo.example"
    );
    assert_eq!(written["AlarmEmail"], "oncall@example.com");
    assert!(
        written.get("RenewalGrace").is_none(),
        "defaults stay defaults"
    );
}

#[test]
fn the_local_example_environment_reads_in_every_function() {
    let out = preflight(&[".env.example"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("STAGE=local"));
}

#[test]
fn the_sam_local_env_file_gives_every_template_function_a_configuration_it_starts_with() {
    let out = preflight(&["--sam-env-vars", "events/env.json"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
}

#[test]
fn the_sam_local_env_file_holds_only_the_documented_local_secrets() {
    let example = std::fs::read_to_string(root().join(".env.example")).unwrap();
    let documented = |name: &str| {
        example
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} is not in .env.example"))
            .to_owned()
    };
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/env.json")).unwrap())
            .unwrap();
    for (function, vars) in env.as_object().unwrap() {
        for (name, value) in vars.as_object().unwrap() {
            let value = value.as_str().unwrap();
            if name.ends_with("SECRET") || name.ends_with("SECRETS") || name == "POLO_API_KEY" {
                assert_eq!(value, documented(name), "{function}: {name}");
            }
            if name.ends_with("_SECRET_ARN") {
                assert_eq!(value, "", "{function}: {name} must stay empty locally");
            }
        }
    }
}

#[test]
fn a_sam_local_entry_with_a_variable_the_template_does_not_declare_is_refused() {
    let mut env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/env.json")).unwrap())
            .unwrap();
    env["ProvisioningSync"]["POLO_API_BASE_URL"] = "http://127.0.0.1:8080".into();
    let file = env_file("env-undeclared.json", &env.to_string());
    let out = preflight(&["--sam-env-vars", &file]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("POLO_API_BASE_URL is not declared for ProvisioningSync"),
        "{}",
        out.stdout
    );
}
