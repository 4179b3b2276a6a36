//! docs/openapi.yaml as a checker: every dashboard answer a test produces is
//! validated against the schema documented for its route and status, so
//! the contract the dashboard team builds from cannot drift from the code.

use serde_json::Value;
use std::sync::OnceLock;

pub struct Contract {
    pub doc: Value,
}

pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
        let text = std::fs::read_to_string(path).expect("docs/openapi.yaml");
        let doc: Value = serde_yaml::from_str(&text).expect("docs/openapi.yaml is YAML");
        Contract { doc }
    })
}

/// `/api/billing/status` → `~1api~1billing~1status` (JSON pointer escaping).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

impl Contract {
    /// Follows an OpenAPI `$ref` (a local JSON pointer) until a real object.
    fn resolve(&self, mut pointer: String) -> Option<(String, &Value)> {
        for _ in 0..8 {
            let value = self.doc.pointer(&pointer)?;
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) => pointer = target.trim_start_matches('#').to_owned(),
                None => return Some((pointer, value)),
            }
        }
        None
    }

    /// The JSON pointer of the schema documented for `route_key` + status.
    pub fn response_schema(&self, route_key: &str, status: u16) -> Option<String> {
        let (method, path) = route_key.split_once(' ')?;
        let response = format!(
            "/paths/{}/{}/responses/{status}",
            escape(path),
            method.to_ascii_lowercase()
        );
        let (pointer, _) = self.resolve(response)?;
        Some(format!("{pointer}/content/application~1json/schema"))
    }

    /// Validates `instance` against the schema at `pointer` (refs resolve
    /// inside the whole document; formats such as date-time are asserted).
    pub fn validate(&self, pointer: &str, instance: &Value) -> Result<(), String> {
        let mut schema = self.doc.clone();
        schema["$ref"] = format!("#{pointer}").into();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| format!("schema at {pointer} does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// The check every dashboard test runs on every answer.
    pub fn check(&self, route_key: &str, status: u16, body: &Value) -> Result<(), String> {
        let pointer = self
            .response_schema(route_key, status)
            .ok_or_else(|| format!("{route_key} answered {status}, which is not documented"))?;
        self.validate(&pointer, body)
            .map_err(|e| format!("{route_key} {status}: {e}\n{body}"))
    }
}
