//! The expanded template's protections of the things that keep billing
//! running: per-route throttles (a flood of one URL cannot starve Polo's
//! deliveries), reserved and capped concurrency, and the scheduled jobs'
//! failure path (no retries of a run the next one repeats; every failure in
//! an alarmed queue). Also renders the per-function table of
//! docs/DEPLOY_HARDENING.md from the expanded template: the test fails when
//! the document and the template disagree (`UPDATE_DOCS=1` rewrites it).

#[path = "support/template.rs"]
mod template;

use billing::config::Function;
use serde_json::Value;
use template::*;

fn stage() -> &'static Value {
    &resources()["HttpApiApiGatewayDefaultStage"]["Properties"]
}

/// `(rate, burst)` of a route key, or of the default.
fn throttle(route_key: Option<&str>) -> (f64, f64) {
    let settings = match route_key {
        Some(key) => &stage()["RouteSettings"][key],
        None => &stage()["DefaultRouteSettings"],
    };
    let rate = settings["ThrottlingRateLimit"].as_f64();
    let burst = settings["ThrottlingBurstLimit"].as_f64();
    match (rate, burst) {
        (Some(rate), Some(burst)) => (rate, burst),
        _ => panic!("no throttle for {route_key:?}: {settings}"),
    }
}

fn route_key(function: Function) -> Option<String> {
    route_of(function).map(|(method, path)| format!("{} {path}", method.to_uppercase()))
}

#[test]
fn every_route_has_its_own_throttle_and_each_webhook_route_outranks_the_dashboard() {
    let default = throttle(None);
    let mut webhook_floor = f64::MAX;
    let mut dashboard_ceiling: f64 = 0.0;
    for (binary, (function, _)) in functions() {
        let Some(key) = route_key(function) else {
            continue;
        };
        let (rate, burst) = throttle(Some(&key));
        assert!(burst >= rate, "{binary}: burst below rate");
        match function {
            Function::Webhook(_) => webhook_floor = webhook_floor.min(rate),
            _ => dashboard_ceiling = dashboard_ceiling.max(rate),
        }
    }
    // Polo's renewal peak with 3x headroom (docs/DEPLOY_HARDENING.md).
    assert!(
        webhook_floor >= 50.0,
        "webhook routes at {webhook_floor} rps"
    );
    assert!(dashboard_ceiling < webhook_floor);
    assert!(
        default.0 <= dashboard_ceiling,
        "an unlisted route gets the least"
    );
    assert_eq!(
        stage()["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0],
        "ApiAccessLogs"
    );
    let format = stage()["AccessLogSettings"]["Format"]
        .as_str()
        .unwrap_or_default();
    for banned in ["header", "body", "authorization", "identity.sourceIp"] {
        assert!(
            !format.to_lowercase().contains(banned),
            "access log carries {banned}"
        );
    }
}

fn reserved(id: &str) -> Value {
    resources()[id]["Properties"]["ReservedConcurrentExecutions"].clone()
}

#[test]
fn webhook_functions_reserve_concurrency_dashboard_ones_are_capped_and_jobs_run_alone() {
    for (binary, (function, id)) in functions() {
        let expected = match function {
            Function::Webhook(_) => serde_json::json!({"Ref": "WebhookReservedConcurrency"}),
            Function::Dashboard(_) => serde_json::json!({"Ref": "DashboardMaxConcurrency"}),
            _ => serde_json::json!(1),
        };
        assert_eq!(reserved(id), expected, "{binary}");
    }
    let parameters = &expanded()["Parameters"];
    let webhooks = parameters["WebhookReservedConcurrency"]["Default"].as_f64();
    let dashboard = parameters["DashboardMaxConcurrency"]["Default"].as_f64();
    assert!(webhooks >= Some(20.0) && dashboard <= webhooks);
    for alarm in [
        "WebhookThrottles",
        "DashboardThrottles",
        "WebhookRoutes4xx",
        "Api4xxRate",
    ] {
        assert!(
            !resources()[alarm]["Properties"]["AlarmActions"].is_null(),
            "{alarm} alarms nobody"
        );
    }
}

fn alarms_on(namespace: &str, metric: &str) -> Vec<&'static Value> {
    resources()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| &r["Properties"])
        .filter(|p| p["Namespace"] == namespace && p["MetricName"] == metric)
        .collect()
}

#[test]
fn a_failed_scheduled_run_is_not_retried_and_lands_in_the_alarmed_failure_queue() {
    let queue = serde_json::json!({"Fn::GetAtt": ["ScheduledJobFailures", "Arn"]});
    let scheduled = [
        Function::WebhookRetry,
        Function::ProvisioningSync,
        Function::Reconcile,
    ];
    let functions = functions();
    for function in scheduled {
        let (_, id) = functions[function.binary()];
        let invoke = &resources()[&format!("{id}EventInvokeConfig")]["Properties"];
        assert_eq!(invoke["MaximumRetryAttempts"], 0, "{id}");
        assert_eq!(
            invoke["DestinationConfig"]["OnFailure"]["Destination"], queue,
            "{id}"
        );
        assert!(
            invoke["MaximumEventAgeInSeconds"].as_i64() <= Some(600),
            "{id}"
        );
        let rules: Vec<&Value> = resources()
            .values()
            .filter(|r| r["Type"] == "AWS::Events::Rule")
            .flat_map(|r| r["Properties"]["Targets"].as_array().into_iter().flatten())
            .filter(|t| t["Arn"]["Fn::GetAtt"][0] == *id)
            .collect();
        assert_eq!(rules.len(), 1, "{id}: one schedule");
        assert_eq!(rules[0]["RetryPolicy"]["MaximumRetryAttempts"], 0, "{id}");
        assert!(
            statements(id)
                .iter()
                .any(|s| actions(s) == ["sqs:SendMessage"] && s["Resource"] == queue),
            "{id} may not write its failure"
        );
        let errors = alarms_on("AWS/Lambda", "Errors");
        assert!(
            errors
                .iter()
                .any(|a| a["Dimensions"][0]["Value"]["Ref"] == *id && a["AlarmActions"].is_array()),
            "{id}: no Errors alarm"
        );
    }
    let depth = alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible");
    assert_eq!(depth.len(), 1);
    assert_eq!(depth[0]["Threshold"], 1);
    assert_eq!(
        depth[0]["Dimensions"][0]["Value"],
        serde_json::json!({"Fn::GetAtt": ["ScheduledJobFailures", "QueueName"]})
    );
}

/// `Ref` of a parameter with its default, or the literal.
fn shown(value: &Value) -> String {
    match reference(value) {
        Some(parameter) => format!(
            "{parameter} ({})",
            expanded()["Parameters"][parameter]["Default"]
        ),
        None => value.to_string(),
    }
}

fn table() -> String {
    let mut out = String::from(
        "| function | route | auth | throttle rps / burst | reserved concurrency | memory MB | timeout s | secrets | DynamoDB | logs |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (binary, (function, id)) in functions() {
        let properties = &resources()[id]["Properties"];
        let (route, auth, limit) = match route_key(function) {
            Some(key) => {
                let (method, path) = route_of(function).unwrap_or_default();
                let auth = api_paths()[&path][&method]["security"][0]
                    .as_object()
                    .and_then(|o| o.keys().next().cloned())
                    .unwrap_or_default();
                let (rate, burst) = throttle(Some(&key));
                (key, auth, format!("{rate} / {burst}"))
            }
            None => ("schedule".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        let secrets: Vec<String> = granted_secrets(id).into_iter().collect();
        let dynamodb: Vec<String> = statements(id)
            .iter()
            .flat_map(actions)
            .filter(|a| a.starts_with("dynamodb:"))
            .map(|a| a.trim_start_matches("dynamodb:").to_owned())
            .collect();
        let log_groups: Vec<String> = statements(id)
            .iter()
            .filter(|s| actions(s).iter().any(|a| a.starts_with("logs:")))
            .flat_map(|s| as_list(&s["Resource"]))
            .map(|r| {
                r["Fn::GetAtt"][0]
                    .as_str()
                    .unwrap_or("<not a log group>")
                    .to_owned()
            })
            .collect();
        let managed = &resources()[&format!("{id}Role")]["Properties"]["ManagedPolicyArns"];
        let logs = if managed.is_null() {
            log_groups.join(", ")
        } else {
            format!("{} + managed {managed}", log_groups.join(", "))
        };
        out.push_str(&format!(
            "| {binary} | {route} | {auth} | {limit} | {} | {} | {} | {} | {} | {logs} |\n",
            shown(&properties["ReservedConcurrentExecutions"]),
            properties["MemorySize"],
            properties["Timeout"],
            secrets.join(", "),
            if dynamodb.is_empty() {
                "-".to_owned()
            } else {
                dynamodb.join(", ")
            },
        ));
    }
    out
}

#[test]
fn the_per_function_table_in_the_deploy_hardening_doc_is_the_templates() {
    let path = root().join("docs/DEPLOY_HARDENING.md");
    let doc = std::fs::read_to_string(&path).expect("docs/DEPLOY_HARDENING.md");
    let (begin, end) = ("<!-- table: begin -->\n", "<!-- table: end -->");
    let (Some(start), Some(stop)) = (doc.find(begin), doc.find(end)) else {
        panic!("docs/DEPLOY_HARDENING.md lacks the {begin:?} … {end:?} markers");
    };
    let current = &doc[start + begin.len()..stop];
    let rendered = table();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{rendered}{}", &doc[..start + begin.len()], &doc[stop..]);
        std::fs::write(&path, updated).expect("write docs/DEPLOY_HARDENING.md");
        return;
    }
    assert_eq!(
        current, rendered,
        "docs/DEPLOY_HARDENING.md is not the template's table; rerun with UPDATE_DOCS=1"
    );
}
