//! The expanded template (scripts/expand-template.py: template.yaml through
//! the SAM translator, as CloudFormation receives it) and lookups into it,
//! shared by the template tests.
#![allow(dead_code)]

use billing::config::{secret_variables, Function};
use billing::secrets::SecretId;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).to_path_buf()
}

/// The expanded template (one translator run per test binary).
pub fn expanded() -> &'static Value {
    static EXPANDED: OnceLock<Value> = OnceLock::new();
    EXPANDED.get_or_init(|| {
        let python = root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/bootstrap.sh (the test command does)",
            python.display()
        );
        let out = std::process::Command::new(python)
            .arg(root().join("scripts/expand-template.py"))
            .arg(root().join("template.yaml"))
            .current_dir(root())
            .output()
            .expect("run scripts/expand-template.py");
        assert!(
            out.status.success(),
            "the SAM translator refused template.yaml:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("expanded template is JSON")
    })
}

pub fn resources() -> &'static serde_json::Map<String, Value> {
    expanded()["Resources"].as_object().expect("Resources")
}

/// Each deployed function's logical id, by its binary (Metadata).
pub fn functions() -> BTreeMap<&'static str, (Function, &'static str)> {
    let mut found = BTreeMap::new();
    for (id, resource) in resources() {
        if resource["Type"] != "AWS::Lambda::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no BuildProperties.Binary"));
        let function = Function::from_binary(binary)
            .unwrap_or_else(|| panic!("{id}: binary {binary} is not a billing::config::Function"));
        found.insert(function.binary(), (function, id.as_str()));
    }
    assert_eq!(found.len(), Function::all().count(), "one function each");
    found
}

pub fn reference(value: &Value) -> Option<&str> {
    value.get("Ref").and_then(Value::as_str)
}

/// The function's environment, without the local-only `AWS::NoValue` slots.
pub fn variables(id: &str) -> BTreeMap<String, Value> {
    resources()[id]["Properties"]["Environment"]["Variables"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| reference(v) != Some("AWS::NoValue"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Every IAM statement of the function's role.
pub fn statements(id: &str) -> Vec<Value> {
    let role = resources()[id]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{id}: role"));
    let mut out = Vec::new();
    for policy in resources()[role]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.push(statement.clone());
        }
    }
    out
}

pub fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

pub fn actions(statement: &Value) -> Vec<String> {
    as_list(&statement["Action"])
        .iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

/// The secret resources the role may read.
pub fn granted_secrets(id: &str) -> BTreeSet<String> {
    statements(id)
        .iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("secretsmanager:")))
        .flat_map(|s| as_list(&s["Resource"]))
        .map(|r| reference(&r).unwrap_or("<not a Ref>").to_owned())
        .collect()
}

/// The secret resource behind each secret's ARN variable.
pub fn secret_resource(id: &str, secret: SecretId) -> String {
    let (arn_variable, _) = secret_variables(secret);
    variables(id)
        .get(arn_variable)
        .and_then(|v| reference(v).map(str::to_owned))
        .unwrap_or_else(|| panic!("{id}: {arn_variable} is not set from a secret resource"))
}

pub fn api_paths() -> &'static serde_json::Map<String, Value> {
    resources()["HttpApi"]["Properties"]["Body"]["paths"]
        .as_object()
        .expect("the HttpApi's OpenAPI paths")
}

/// `(method, path)` of a function's route, when it has one.
pub fn route_of(function: Function) -> Option<(String, String)> {
    let key = match function {
        Function::Dashboard(route) => route.route_key().to_owned(),
        Function::Webhook(endpoint) => format!("POST {}", endpoint.path()),
        _ => return None,
    };
    let (method, path) = key.split_once(' ')?;
    Some((method.to_lowercase(), path.to_owned()))
}
