//! The checks for a release environment (`dev`, `staging`, `prod`): the
//! file and samconfig against the template's parameters and rules, the
//! file's names (no plain secret, no emulator, no typo), the template's
//! variable names, then every function's environment as the template builds
//! it, through that function's configuration parser.

use super::env_file::EnvFile;
use super::functions::check_functions;
use super::parameters::{self, Sources};
use super::report::Report;
use super::resolve::Resolver;
use super::rules::check_rules;
use super::samconfig::SamConfig;
use super::template::{intrinsic, Function, Template};
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;
use std::path::Path;

/// Variables that hold secret values: only `STAGE=local` may set them.
const SECRET_VARIABLES: [&str; 6] = [
    "POLO_API_KEY",
    "POLO_WEBHOOK_SECRETS",
    "CONVEX_SIGNING_SECRET",
    "PROVISIONING_SIGNING_SECRET",
    "PAYPAL_CLIENT_ID",
    "PAYPAL_CLIENT_SECRET",
];

/// AWS SDK settings an ops environment file may carry for the admin CLI.
const AWS_SDK_SETTINGS: [&str; 3] = ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"];

/// The release environments `samconfig.toml` names.
pub(crate) const RELEASE_ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

pub(crate) struct Release<'a> {
    pub(crate) name: &'a str,
    pub(crate) env: &'a EnvFile,
    pub(crate) env_path: &'a Path,
    pub(crate) template: &'a Template,
    pub(crate) samconfig: &'a SamConfig,
}

impl Release<'_> {
    /// The report, and every parameter set by the file or samconfig.
    pub(crate) fn check(&self) -> (Report, BTreeMap<String, String>) {
        let name = self.name;
        let file = self.env_path.display().to_string();
        let mut report = Report::new(format!(
            "release environment `{name}` ({file}, samconfig [{name}], template)"
        ));
        for problem in &self.env.problems {
            report.problem(problem.clone(), "file");
        }
        self.check_samconfig(&mut report);
        let stack_values = self.check_file_keys(&mut report);
        let sources = Sources {
            name,
            file: &file,
            env: self.env,
            samconfig: self.samconfig,
        };
        let resolved = parameters::resolve(self.template, &sources, &mut report);
        let region = self
            .samconfig
            .keys
            .get("region")
            .cloned()
            .unwrap_or_else(|| "us-east-1".to_owned());
        let placeholder = |id: &str, kind: &str| match kind {
            "AWS::SecretsManager::Secret" => {
                format!("arn:aws:secretsmanager:{region}:123456789012:secret:{id}")
            }
            _ => id.to_owned(),
        };
        let resolver = Resolver {
            template: self.template,
            parameters: &resolved.values,
            resource: &placeholder,
            region: &region,
        };
        check_rules(self.template, &resolver, &mut report);
        self.check_template_names(&mut report);
        let environment = |function: &Function| {
            function
                .variables
                .iter()
                .filter_map(|(k, v)| {
                    let value = stack_values.get(k).cloned().or_else(|| resolver.value(v));
                    Some((k.clone(), value?))
                })
                .collect()
        };
        check_functions(self.template, &mut report, &environment, &resolved.missing);
        report.checked.push(format!(
            "{} template parameters, samconfig [{name}]",
            self.template.parameters.len()
        ));
        (report, resolved.explicit)
    }

    fn check_samconfig(&self, report: &mut Report) {
        let name = self.name;
        if !self.samconfig.found {
            report.problem(
                format!("samconfig.toml has no [{name}.deploy.parameters] table"),
                "samconfig",
            );
            return;
        }
        for key in ["stack_name", "region", "capabilities"] {
            if self
                .samconfig
                .keys
                .get(key)
                .is_none_or(|v| v.trim().is_empty())
            {
                report.problem(format!("samconfig [{name}]: {key} is missing"), "samconfig");
            }
        }
        for key in self.samconfig.overrides.keys() {
            if self.template.parameter(key).is_none() {
                report.problem(
                    format!(
                        "samconfig [{name}] overrides {key}, which template.yaml does not declare"
                    ),
                    "samconfig",
                );
            }
        }
    }

    /// Every key of the file must be a template parameter's variable, or a
    /// value the template itself gives the functions (returned: the deployed
    /// stack's secret ARNs and table name, which the admin CLI reads from
    /// the same file), or an AWS SDK setting.
    fn check_file_keys(&self, report: &mut Report) -> BTreeMap<String, String> {
        let mut stack_values = BTreeMap::new();
        let supplied: BTreeMap<&str, &Yaml> = self
            .template
            .functions
            .iter()
            .flat_map(|f| f.variables.iter())
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        for (key, value) in &self.env.values {
            let whsec = value.trim_start().starts_with("whsec_");
            if self.template.parameters.iter().any(|p| &p.variable == key) {
                if whsec {
                    report.problem(
                        format!("{key} holds a whsec_ secret: secrets live in Secrets Manager, never in a parameter"),
                        "file",
                    );
                }
                continue;
            }
            let text = if SECRET_VARIABLES.contains(&key.as_str()) || whsec {
                format!(
                    "{key} is a plain secret: deployed stages read secrets from Secrets Manager only (set its value there, docs/INSTRUCTIONS.md); remove it from the file"
                )
            } else if key.starts_with("AWS_ENDPOINT_URL") {
                format!(
                    "{key} points the AWS SDK at an emulator: local only; remove it from the file"
                )
            } else if supplied.contains_key(key.as_str())
                || AWS_SDK_SETTINGS.contains(&key.as_str())
            {
                // The stack's own names (secret ARNs, the table) once it is
                // deployed, as the admin CLI reads them: checked by the
                // functions' parsers, ignored by the deploy.
                stack_values.insert(key.clone(), value.clone());
                continue;
            } else {
                format!("{key} is not a template parameter (a typo?); remove it")
            };
            report.problem(text, "file");
        }
        stack_values
    }

    /// A variable filled from a parameter must carry that parameter's name,
    /// so the environment file's names are the functions' names.
    fn check_template_names(&self, report: &mut Report) {
        for function in &self.template.functions {
            for (variable, expr) in &function.variables {
                let Some(("Ref", arg)) = intrinsic(expr).as_ref().map(|(n, a)| (n.as_str(), *a))
                else {
                    continue;
                };
                let Some(p) = arg.as_str().and_then(|n| self.template.parameter(n)) else {
                    continue;
                };
                if &p.variable != variable {
                    report.problem(
                        format!(
                            "template.yaml sets {variable} from parameter {}: rename one so they match ({})",
                            p.name, p.variable
                        ),
                        "template",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One function (provisioning-sync) whose environment comes from three
    /// parameters and two secrets of the stack itself.
    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String, AllowedValues: [dev, staging, prod]}
  ConvexSiteUrl: {Type: String}
  ProvisioningUrl: {Type: String}
Resources:
  ConvexSigningSecret: {Type: AWS::SecretsManager::Secret}
  ProvisioningSigningSecret: {Type: AWS::SecretsManager::Secret}
  Sync:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: provisioning-sync}}
    Properties:
      Environment:
        Variables:
          STAGE: !Ref Stage
          CONVEX_SITE_URL: !Ref ConvexSiteUrl
          PROVISIONING_URL: !Ref ProvisioningUrl
          CONVEX_SIGNING_SECRET_ARN: !Ref ConvexSigningSecret
          PROVISIONING_SIGNING_SECRET_ARN: !GetAtt ProvisioningSigningSecret.Id
"#;

    const SAMCONFIG: &str = r#"
[dev.deploy.parameters]
stack_name = "billing-dev"
region = "eu-west-1"
capabilities = "CAPABILITY_IAM"
parameter_overrides = "Stage=dev"
"#;

    const COMPLETE: &str =
        "CONVEX_SITE_URL=https://convex.example\nPROVISIONING_URL=https://orchestrator.example\n";

    fn check(file: &str, samconfig: &str, template: &str) -> (Report, BTreeMap<String, String>) {
        let template = Template::parse(template).unwrap();
        let samconfig = SamConfig::parse(samconfig, "dev").unwrap();
        let env = EnvFile::parse(file);
        let release = Release {
            name: "dev",
            env: &env,
            env_path: Path::new("dev.env"),
            template: &template,
            samconfig: &samconfig,
        };
        release.check()
    }

    fn problems(report: &Report) -> Vec<&str> {
        report.problems.keys().map(String::as_str).collect()
    }

    #[test]
    fn a_complete_file_with_samconfig_is_ready_and_names_what_it_set() {
        let (report, explicit) = check(COMPLETE, SAMCONFIG, TEMPLATE);

        assert!(report.is_ready(), "{}", report.render());
        assert_eq!(
            report.checked,
            [
                "SyncConfig: provisioning-sync",
                "3 template parameters, samconfig [dev]"
            ]
        );
        assert_eq!(
            explicit.keys().collect::<Vec<_>>(),
            ["ConvexSiteUrl", "ProvisioningUrl", "Stage"]
        );
    }

    #[test]
    fn a_missing_parameter_is_reported_once_not_again_by_each_function() {
        let (report, _) = check(
            "CONVEX_SITE_URL=https://convex.example\n",
            SAMCONFIG,
            TEMPLATE,
        );

        assert_eq!(
            problems(&report),
            ["PROVISIONING_URL is missing (template parameter ProvisioningUrl: not in dev.env, not in samconfig [dev], no default)"]
        );
    }

    #[test]
    fn samconfig_without_its_settings_or_with_an_unknown_override_is_refused() {
        let samconfig = "[dev.deploy.parameters]\nparameter_overrides = \"Stage=dev Stagee=dev\"\n";

        let (report, _) = check(COMPLETE, samconfig, TEMPLATE);

        assert_eq!(
            problems(&report),
            [
                "samconfig [dev] overrides Stagee, which template.yaml does not declare",
                "samconfig [dev]: capabilities is missing",
                "samconfig [dev]: region is missing",
                "samconfig [dev]: stack_name is missing",
            ]
        );
        let (report, _) = check(COMPLETE, "", TEMPLATE);
        assert!(problems(&report).contains(&"samconfig.toml has no [dev.deploy.parameters] table"));
    }

    #[test]
    fn secrets_emulators_and_typos_in_the_file_are_refused_without_their_values() {
        let file = format!(
            "{COMPLETE}POLO_API_KEY=key-1\nCONVEX_SITE_URLL=https://x\nAWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000\nSOMETHING=whsec_abc\nAWS_REGION=eu-west-1\n"
        );

        let (report, _) = check(&file, SAMCONFIG, TEMPLATE);

        assert_eq!(
            problems(&report),
            [
                "AWS_ENDPOINT_URL_DYNAMODB points the AWS SDK at an emulator: local only; remove it from the file",
                "CONVEX_SITE_URLL is not a template parameter (a typo?); remove it",
                "POLO_API_KEY is a plain secret: deployed stages read secrets from Secrets Manager only (set its value there, docs/INSTRUCTIONS.md); remove it from the file",
                "SOMETHING is a plain secret: deployed stages read secrets from Secrets Manager only (set its value there, docs/INSTRUCTIONS.md); remove it from the file",
            ]
        );
        assert!(!report.render().contains("whsec_abc") && !report.render().contains("key-1"));
    }

    #[test]
    fn a_whsec_value_in_a_parameter_is_refused() {
        let file = format!("{COMPLETE}STAGE=whsec_abc\n");

        let (report, _) = check(&file, SAMCONFIG, TEMPLATE);

        assert!(problems(&report).contains(
            &"STAGE holds a whsec_ secret: secrets live in Secrets Manager, never in a parameter"
        ));
    }

    #[test]
    fn the_stacks_own_values_in_the_file_reach_the_functions_parser() {
        let file = format!("{COMPLETE}CONVEX_SIGNING_SECRET_ARN=not-an-arn\n");

        let (report, _) = check(&file, SAMCONFIG, TEMPLATE);

        assert_eq!(
            problems(&report),
            ["CONVEX_SIGNING_SECRET_ARN must be a Secrets Manager ARN"]
        );
    }

    #[test]
    fn a_variable_named_unlike_its_parameter_is_the_templates_problem() {
        let template = TEMPLATE.replace("PROVISIONING_URL: !Ref", "ORCHESTRATOR_URL: !Ref");

        let (report, _) = check(COMPLETE, SAMCONFIG, &template);

        assert!(problems(&report).contains(
            &"template.yaml sets ORCHESTRATOR_URL from parameter ProvisioningUrl: rename one so they match (PROVISIONING_URL)"
        ));
    }
}
