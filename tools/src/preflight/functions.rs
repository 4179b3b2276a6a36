//! Each template function's environment through the configuration parser
//! that function runs at cold start. Which parser a binary runs comes from
//! `billing::config::Function` (built from `Route::ALL`, `Endpoint::ALL` and
//! the scheduled jobs), so a function added there is checked here with no
//! list of our own to keep in step.

use super::env_file::EnvFile;
use super::report::Report;
use super::template::{Function, Template};
use billing::config::Function as Deployed;
use billing::config::{DashboardConfig, Problem, ReconcileConfig, SyncConfig, WebhookConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which configuration parser a deployed function runs at cold start.
fn parser_name(function: Deployed) -> &'static str {
    match function {
        Deployed::Dashboard(_) => "DashboardConfig",
        Deployed::Webhook(_) if function.calls_polo() => "WebhookConfig with Polo",
        Deployed::Webhook(_) => "WebhookConfig",
        Deployed::WebhookRetry => "WebhookConfig for the retry sweep",
        Deployed::ProvisioningSync => "SyncConfig",
        Deployed::Reconcile => "ReconcileConfig",
    }
}

/// The parser's problems, each naming its variable (empty: it reads).
fn parser_problems(function: Deployed, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<Problem> {
    let result = match function {
        Deployed::Dashboard(route) => DashboardConfig::from_lookup(lookup, route).map(drop),
        Deployed::Webhook(_) | Deployed::WebhookRetry => {
            WebhookConfig::from_lookup(lookup, function).map(drop)
        }
        Deployed::ProvisioningSync => SyncConfig::from_lookup(lookup).map(drop),
        Deployed::Reconcile => ReconcileConfig::from_lookup(lookup).map(drop),
    };
    result.err().map(|e| e.problems).unwrap_or_default()
}

/// Runs every template function's parser over `environment(function)`.
/// A problem about a variable in `skip_variables` is left out: it is already
/// reported once as a missing parameter, not again by every function.
pub(crate) fn check_functions(
    template: &Template,
    report: &mut Report,
    environment: &dyn Fn(&Function) -> BTreeMap<String, String>,
    skip_variables: &BTreeSet<String>,
) {
    let mut kinds: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for function in &template.functions {
        let Some(kind) = Deployed::from_binary(&function.binary) else {
            report.problem(
                format!(
                    "template function {} (binary {}): preflight does not know its configuration; add it to billing::config::Function",
                    function.logical_id, function.binary
                ),
                "",
            );
            continue;
        };
        kinds
            .entry(parser_name(kind))
            .or_default()
            .push(&function.binary);
        let env = environment(function);
        let lookup = |name: &str| env.get(name).cloned();
        for problem in parser_problems(kind, &lookup) {
            if !skip_variables.contains(&problem.variable) {
                report.problem(problem.message, &function.binary);
            }
        }
    }
    for (kind, binaries) in kinds {
        report
            .checked
            .push(format!("{kind}: {}", binaries.join(", ")));
    }
}

/// `STAGE=local`: the file is the environment, as the local stack reads it.
pub(crate) fn check_local(template: &Template, env: &EnvFile, path: &Path) -> Report {
    let mut report = Report::new(format!(
        "{} (STAGE=local: function configuration only; samconfig and template parameters are for release environments)",
        path.display()
    ));
    for problem in &env.problems {
        report.problem(problem.clone(), "file");
    }
    check_functions(
        template,
        &mut report,
        &|_| env.values.clone(),
        &BTreeSet::new(),
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two known functions and one preflight has never heard of.
    const TEMPLATE: &str = r#"
Resources:
  Sync:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: provisioning-sync}}
  Reconcile:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: reconcile}}
  Stray:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: trivial-lambda}}
"#;

    #[test]
    fn every_deployed_function_has_a_parser_name() {
        let names: BTreeSet<&str> = Deployed::all().map(parser_name).collect();

        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            [
                "DashboardConfig",
                "ReconcileConfig",
                "SyncConfig",
                "WebhookConfig",
                "WebhookConfig for the retry sweep",
                "WebhookConfig with Polo",
            ]
        );
    }

    #[test]
    fn each_functions_parser_problems_name_their_variables_and_skipped_ones_are_left_out() {
        let template = Template::parse(TEMPLATE).unwrap();
        let mut report = Report::new("test".to_owned());
        let skip = BTreeSet::from(["STAGE".to_owned()]);

        check_functions(&template, &mut report, &|_| BTreeMap::new(), &skip);

        assert_eq!(
            report.checked,
            [
                "ReconcileConfig: reconcile",
                "SyncConfig: provisioning-sync"
            ]
        );
        assert!(!report.problems.contains_key("STAGE is missing"));
        let sources = &report.problems["CONVEX_SITE_URL is missing"];
        assert_eq!(
            sources.iter().map(String::as_str).collect::<Vec<_>>(),
            ["provisioning-sync", "reconcile"]
        );
        assert!(report.problems.contains_key(
            "template function Stray (binary trivial-lambda): preflight does not know its configuration; add it to billing::config::Function"
        ));
    }

    #[test]
    fn a_local_file_is_each_functions_whole_environment() {
        let template = Template::parse(TEMPLATE).unwrap();
        let env = EnvFile::parse("STAGE=local\nSTAGE=dev\n");

        let report = check_local(&template, &env, Path::new("local.env"));

        assert!(report.heading.starts_with("local.env (STAGE=local"));
        assert!(report
            .problems
            .contains_key("STAGE is set twice (lines 1 and 2)"));
        assert!(!report.problems.contains_key("STAGE is missing"));
        assert!(report.problems.contains_key("PROVISIONING_URL is missing"));
    }
}
