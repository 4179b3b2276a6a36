//! `--sam-env-vars`: the file `sam local invoke --env-vars` reads
//! (`{"Parameters": {..}, "<LogicalId>": {..}}`). sam sets only variables the
//! template declares for a function and drops the others silently, so a
//! variable it would drop is refused here; then each function's environment,
//! as sam would build it, goes through that function's parser.

use super::functions::check_functions;
use super::report::Report;
use super::resolve::Resolver;
use super::template::{Function, Template};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// sam resolves what the file leaves out as the template says: a parameter
/// to its default (or its name) and a resource to its logical id.
pub(crate) fn check_sam_env_vars(template: &Template, json: &Json, path: &Path) -> Report {
    let mut report = Report::new(format!("{} (sam local invoke --env-vars)", path.display()));
    let Some(entries) = json.as_object() else {
        report.problem("the file is not a JSON object", "file");
        return report;
    };
    let shared = entries
        .get("Parameters")
        .map(|v| strings(v, "Parameters", &mut report))
        .unwrap_or_default();
    check_shared_names(template, &shared, &mut report);
    let per_function = function_entries(template, entries, &mut report);
    let parameters = defaults(template);
    let resolver = Resolver {
        template,
        parameters: &parameters,
        resource: &|id, _| id.to_owned(),
        region: "us-east-1",
    };
    let environment = |function: &Function| {
        let own = per_function.get(&function.logical_id);
        function
            .variables
            .iter()
            .filter_map(|(k, v)| {
                let value = own
                    .and_then(|o| o.get(k))
                    .or(shared.get(k))
                    .cloned()
                    .or_else(|| resolver.value(v));
                Some((k.clone(), value?))
            })
            .collect()
    };
    check_functions(template, &mut report, &environment, &BTreeSet::new());
    report
}

/// Each template function's own entry; an entry for no function, a
/// function without an entry and a variable sam would drop are problems.
fn function_entries(
    template: &Template,
    entries: &serde_json::Map<String, Json>,
    report: &mut Report,
) -> BTreeMap<String, BTreeMap<String, String>> {
    for id in entries.keys() {
        if id != "Parameters" && !template.functions.iter().any(|f| &f.logical_id == id) {
            report.problem(format!("{id} is not a function of template.yaml"), "file");
        }
    }
    let mut per_function = BTreeMap::new();
    for function in &template.functions {
        let id = &function.logical_id;
        let own = match entries.get(id) {
            Some(value) => strings(value, id, report),
            None => {
                report.problem(format!("{id} has no entry"), "file");
                BTreeMap::new()
            }
        };
        for key in own.keys() {
            if !function.variables.contains_key(key) {
                report.problem(
                    format!("{key} is not declared for {id} in template.yaml (sam would drop it)"),
                    id,
                );
            }
        }
        per_function.insert(id.clone(), own);
    }
    per_function
}

/// What sam gives a parameter the file leaves out: its default, or its name.
fn defaults(template: &Template) -> BTreeMap<String, Option<String>> {
    template
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                Some(p.default.clone().unwrap_or(p.name.clone())),
            )
        })
        .collect()
}

/// An entry's variables; a value that is not a string is a problem of the
/// entry (`label`), not a crash.
fn strings(value: &Json, label: &str, report: &mut Report) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(map) = value.as_object() else {
        report.problem("entry is not an object of strings", label);
        return out;
    };
    for (k, v) in map {
        match v.as_str() {
            Some(s) => {
                out.insert(k.clone(), s.to_owned());
            }
            None => report.problem(format!("{k} is not a string"), label),
        }
    }
    out
}

/// `Parameters` reach every function, so each must be declared by one.
fn check_shared_names(template: &Template, shared: &BTreeMap<String, String>, report: &mut Report) {
    let declared_anywhere: BTreeSet<&str> = template
        .functions
        .iter()
        .flat_map(|f| f.variables.keys().map(String::as_str))
        .collect();
    for key in shared.keys() {
        if !declared_anywhere.contains(key.as_str()) {
            report.problem(
                format!("{key} is declared by no function in template.yaml (sam would drop it)"),
                "Parameters",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String, Default: local}
Resources:
  ConvexSigningSecret: {Type: AWS::SecretsManager::Secret}
  Sync:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: provisioning-sync}}
    Properties:
      Environment:
        Variables:
          STAGE: !Ref Stage
          CONVEX_SITE_URL: ""
          PROVISIONING_URL: ""
          CONVEX_SIGNING_SECRET: ""
          PROVISIONING_SIGNING_SECRET: ""
          CONVEX_SIGNING_SECRET_ARN: !Ref AWS::NoValue
"#;

    fn check(json: Json) -> Report {
        let template = Template::parse(TEMPLATE).unwrap();
        check_sam_env_vars(&template, &json, Path::new("events/env.json"))
    }

    fn problems(report: &Report) -> Vec<&str> {
        report.problems.keys().map(String::as_str).collect()
    }

    #[test]
    fn a_complete_local_entry_reads_with_the_parameters_default_for_the_rest() {
        let report = check(json!({
            "Parameters": {"CONVEX_SITE_URL": "http://127.0.0.1:3210"},
            "Sync": {
                "PROVISIONING_URL": "http://127.0.0.1:3000/dev/provisioning",
                "CONVEX_SIGNING_SECRET": "whsec_c",
                "PROVISIONING_SIGNING_SECRET": "whsec_p"
            }
        }));

        assert!(report.is_ready(), "{}", report.render());
        assert_eq!(report.checked, ["SyncConfig: provisioning-sync"]);
    }

    #[test]
    fn variables_sam_would_drop_and_unknown_or_missing_entries_are_refused() {
        let report = check(json!({
            "Parameters": {"TYPO_URL": "x"},
            "Sync": {"IDEMPOTENCY_TABLE": "t", "STAGE": 1},
            "Stray": {}
        }));

        let problems = problems(&report);
        for expected in [
            "IDEMPOTENCY_TABLE is not declared for Sync in template.yaml (sam would drop it)",
            "STAGE is not a string",
            "Stray is not a function of template.yaml",
            "TYPO_URL is declared by no function in template.yaml (sam would drop it)",
        ] {
            assert!(problems.contains(&expected), "{expected}: {problems:?}");
        }
    }

    #[test]
    fn a_function_without_an_entry_and_a_file_that_is_no_object_are_refused() {
        let report = check(json!({}));
        assert!(problems(&report).contains(&"Sync has no entry"));

        let report = check(json!(["not", "an", "object"]));
        assert_eq!(problems(&report), ["the file is not a JSON object"]);

        let report = check(json!({"Sync": "text"}));
        assert!(problems(&report).contains(&"entry is not an object of strings"));
    }
}
