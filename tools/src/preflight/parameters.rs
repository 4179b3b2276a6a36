//! Each template parameter's value for a release environment (the file,
//! then samconfig's overrides, then the default) and the template's own
//! constraints on it: `AllowedValues`, `AllowedPattern`, `Type: Number`,
//! and `Stage` naming the environment being released.

use super::env_file::EnvFile;
use super::report::Report;
use super::samconfig::SamConfig;
use super::template::{Parameter, Template};
use std::collections::{BTreeMap, BTreeSet};

/// Where the parameters' values came from, and what is missing.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Parameter → value, `None` when missing.
    pub(crate) values: BTreeMap<String, Option<String>>,
    /// The parameters set by the file or samconfig (not by a default): what
    /// `--write-overrides` writes.
    pub(crate) explicit: BTreeMap<String, String>,
    /// The variables of the missing parameters.
    pub(crate) missing: BTreeSet<String>,
}

/// What the parameters are resolved from: the release environment `name`,
/// its file (at `file`) and samconfig.
pub(crate) struct Sources<'a> {
    pub(crate) name: &'a str,
    pub(crate) file: &'a str,
    pub(crate) env: &'a EnvFile,
    pub(crate) samconfig: &'a SamConfig,
}

/// Each parameter's value: the file, then samconfig, then its default.
pub(crate) fn resolve(template: &Template, sources: &Sources<'_>, report: &mut Report) -> Resolved {
    let Sources {
        name,
        file,
        env,
        samconfig,
    } = sources;
    let mut resolved = Resolved::default();
    for p in &template.parameters {
        let var = &p.variable;
        let from_file = env.values.get(var).map(|v| v.trim().to_owned());
        let from_samconfig = samconfig.overrides.get(&p.name).cloned();
        if let (Some(a), Some(b)) = (&from_file, &from_samconfig) {
            if a != b {
                report.problem(
                    format!(
                        "{var} differs from samconfig [{name}]'s {} (set it in one place)",
                        p.name
                    ),
                    "file",
                );
            }
        }
        // An empty value stands for "unset" unless a default would then
        // take its place: `Param=` is how samconfig blanks a default.
        let value = from_file
            .or(from_samconfig)
            .filter(|v| !v.is_empty() || p.default.is_some());
        if let Some(v) = &value {
            resolved.explicit.insert(p.name.clone(), v.clone());
        }
        let Some(value) = value.or(p.default.clone()) else {
            report.problem(
                format!(
                    "{var} is missing (template parameter {}: not in {file}, not in samconfig [{name}], no default)",
                    p.name
                ),
                "parameters",
            );
            resolved.missing.insert(var.clone());
            resolved.values.insert(p.name.clone(), None);
            continue;
        };
        check_constraints(p, &value, name, report);
        resolved.values.insert(p.name.clone(), Some(value));
    }
    resolved
}

fn check_constraints(p: &Parameter, value: &str, release: &str, report: &mut Report) {
    let var = &p.variable;
    if !p.allowed_values.is_empty() && !p.allowed_values.iter().any(|a| a == value) {
        report.problem(
            format!(
                "{var} must be one of {} (template parameter {})",
                p.allowed_values.join(", "),
                p.name
            ),
            "parameters",
        );
    }
    if let Some(pattern) = &p.allowed_pattern {
        // CloudFormation matches the whole value, not a part of it.
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) if re.is_match(value) => {}
            Ok(_) => report.problem(
                format!(
                    "{var} does not match {pattern} (template parameter {})",
                    p.name
                ),
                "parameters",
            ),
            Err(_) => report.problem(
                format!(
                    "template parameter {}: AllowedPattern is not a regular expression",
                    p.name
                ),
                "template",
            ),
        }
    }
    if p.number && value.trim().parse::<f64>().is_err() {
        report.problem(
            format!("{var} must be a number (template parameter {})", p.name),
            "parameters",
        );
    }
    if var == "STAGE" && value != release {
        report.problem(
            format!("STAGE must be {release} for the {release} release environment"),
            "parameters",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String, AllowedValues: [dev, staging, prod]}
  RetryLimit: {Type: Number, Default: 5}
  JwtIssuer: {Type: String, AllowedPattern: "https://.+"}
  AlarmEmail: {Type: String, Default: ""}
Resources: {}
"#;

    fn resolve_with(file: &str, samconfig: &str) -> (Resolved, Report) {
        resolve_in(TEMPLATE, file, samconfig)
    }

    fn resolve_in(template: &str, file: &str, samconfig: &str) -> (Resolved, Report) {
        let template = Template::parse(template).unwrap();
        let env = EnvFile::parse(file);
        let samconfig = SamConfig::parse(samconfig, "dev").unwrap();
        let sources = Sources {
            name: "dev",
            file: "dev.env",
            env: &env,
            samconfig: &samconfig,
        };
        let mut report = Report::new("test".to_owned());
        let resolved = resolve(&template, &sources, &mut report);
        (resolved, report)
    }

    fn problems(report: &Report) -> Vec<&str> {
        report.problems.keys().map(String::as_str).collect()
    }

    const SAMCONFIG: &str =
        "[dev.deploy.parameters]\nparameter_overrides = \"Stage=dev AlarmEmail=\"\n";

    #[test]
    fn the_file_then_samconfig_then_the_default_give_each_value() {
        let (resolved, _) = resolve_with("JWT_ISSUER=https://auth.example\n", SAMCONFIG);

        assert_eq!(resolved.values["Stage"].as_deref(), Some("dev"));
        assert_eq!(
            resolved.values["JwtIssuer"].as_deref(),
            Some("https://auth.example")
        );
        assert_eq!(resolved.values["RetryLimit"].as_deref(), Some("5"));
        assert_eq!(resolved.values["AlarmEmail"].as_deref(), Some(""));
        assert_eq!(
            resolved.explicit.keys().collect::<Vec<_>>(),
            ["AlarmEmail", "JwtIssuer", "Stage"]
        );
        assert!(resolved.missing.is_empty());
    }

    #[test]
    fn a_parameter_with_no_value_anywhere_is_missing_by_its_variable() {
        let (resolved, report) = resolve_with("", SAMCONFIG);

        assert_eq!(resolved.values["JwtIssuer"], None);
        assert_eq!(resolved.missing.iter().collect::<Vec<_>>(), ["JWT_ISSUER"]);
        assert_eq!(
            problems(&report),
            ["JWT_ISSUER is missing (template parameter JwtIssuer: not in dev.env, not in samconfig [dev], no default)"]
        );
    }

    #[test]
    fn the_file_disagreeing_with_samconfig_is_refused_and_the_file_wins() {
        let (resolved, report) = resolve_with(
            "STAGE=staging\nJWT_ISSUER=https://auth.example\n",
            SAMCONFIG,
        );

        assert_eq!(resolved.values["Stage"].as_deref(), Some("staging"));
        assert_eq!(
            problems(&report),
            [
                "STAGE differs from samconfig [dev]'s Stage (set it in one place)",
                "STAGE must be dev for the dev release environment",
            ]
        );
    }

    #[test]
    fn values_outside_the_templates_constraints_are_refused_by_their_variable() {
        let (_, report) = resolve_with(
            "STAGE=qa\nRETRY_LIMIT=five\nJWT_ISSUER=http://auth.example\n",
            "",
        );

        assert_eq!(
            problems(&report),
            [
                "JWT_ISSUER does not match https://.+ (template parameter JwtIssuer)",
                "RETRY_LIMIT must be a number (template parameter RetryLimit)",
                "STAGE must be dev for the dev release environment",
                "STAGE must be one of dev, staging, prod (template parameter Stage)",
            ]
        );
    }

    #[test]
    fn a_pattern_that_is_not_a_regular_expression_is_the_templates_problem() {
        let template =
            "Parameters:\n  Broken: {Type: String, Default: x, AllowedPattern: \"(\"}\nResources: {}\n";

        let (resolved, report) = resolve_in(template, "", "");

        assert_eq!(resolved.values["Broken"].as_deref(), Some("x"));
        assert_eq!(
            problems(&report),
            ["template parameter Broken: AllowedPattern is not a regular expression"]
        );
        assert_eq!(
            report.problems[problems(&report)[0]]
                .iter()
                .collect::<Vec<_>>(),
            ["template"]
        );
    }
}
