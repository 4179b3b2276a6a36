//! The parts of `template.yaml` preflight checks against: parameters (with
//! their defaults and constraints), each function's environment (Globals
//! overlaid with its own), the resources' types and the `Rules`. Read with
//! `serde_yaml`, which keeps CloudFormation's short-form tags (`!Ref`,
//! `!Sub`, `!GetAtt`, `!If`, `!Equals`...) as `Value::Tagged`.

use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;

#[derive(Debug)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    /// The environment variable it is set by: `PoloApiBaseUrl` is
    /// `POLO_API_BASE_URL`.
    pub(crate) variable: String,
    pub(crate) default: Option<String>,
    pub(crate) allowed_values: Vec<String>,
    pub(crate) allowed_pattern: Option<String>,
    pub(crate) number: bool,
}

/// An `AWS::Serverless::Function`.
#[derive(Debug)]
pub(crate) struct Function {
    pub(crate) logical_id: String,
    pub(crate) binary: String,
    /// Globals' variables overlaid with the function's own.
    pub(crate) variables: BTreeMap<String, Yaml>,
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) name: String,
    pub(crate) condition: Option<Yaml>,
    /// Each `Assert` with its `AssertDescription`.
    pub(crate) assertions: Vec<(Yaml, String)>,
}

#[derive(Debug)]
pub(crate) struct Template {
    pub(crate) parameters: Vec<Parameter>,
    pub(crate) functions: Vec<Function>,
    /// Logical id → resource type.
    pub(crate) resources: BTreeMap<String, String>,
    pub(crate) rules: Vec<Rule>,
}

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let root: Yaml = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let Some(resources) = root.get("Resources").and_then(Yaml::as_mapping) else {
            return Err("no Resources".to_owned());
        };
        let globals = variables_of(root.get("Globals").and_then(|g| g.get("Function")));
        let mut template = Template {
            parameters: parameters(&root),
            functions: Vec::new(),
            resources: BTreeMap::new(),
            rules: rules(&root),
        };
        for (id, resource) in resources {
            let Some(id) = id.as_str() else { continue };
            let kind = resource.get("Type").and_then(Yaml::as_str).unwrap_or("");
            template.resources.insert(id.to_owned(), kind.to_owned());
            if kind == "AWS::Serverless::Function" {
                template.functions.push(function(id, resource, &globals)?);
            }
        }
        Ok(template)
    }

    pub(crate) fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

fn parameters(root: &Yaml) -> Vec<Parameter> {
    let Some(map) = root.get("Parameters").and_then(Yaml::as_mapping) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, spec)| {
            let name = name.as_str()?;
            Some(Parameter {
                name: name.to_owned(),
                variable: variable_name(name),
                default: spec.get("Default").and_then(scalar),
                allowed_values: spec
                    .get("AllowedValues")
                    .and_then(Yaml::as_sequence)
                    .map(|values| values.iter().filter_map(scalar).collect())
                    .unwrap_or_default(),
                allowed_pattern: spec.get("AllowedPattern").and_then(scalar),
                number: spec.get("Type").and_then(Yaml::as_str) == Some("Number"),
            })
        })
        .collect()
}

fn function(
    id: &str,
    resource: &Yaml,
    globals: &BTreeMap<String, Yaml>,
) -> Result<Function, String> {
    // Where sam build reads it (a bare `Metadata.Binary` is ignored, and
    // cargo lambda then builds every binary of the workspace).
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|m| m.get("Binary"))
        .and_then(Yaml::as_str)
        .ok_or_else(|| format!("function {id} has no Metadata.BuildProperties.Binary"))?;
    let mut variables = globals.clone();
    variables.extend(variables_of(resource.get("Properties")));
    Ok(Function {
        logical_id: id.to_owned(),
        binary: binary.to_owned(),
        variables,
    })
}

fn rules(root: &Yaml) -> Vec<Rule> {
    let Some(map) = root.get("Rules").and_then(Yaml::as_mapping) else {
        return Vec::new();
    };
    map.iter()
        .map(|(name, rule)| Rule {
            name: name.as_str().unwrap_or("?").to_owned(),
            condition: rule.get("RuleCondition").cloned(),
            assertions: rule
                .get("Assertions")
                .and_then(Yaml::as_sequence)
                .map(|list| list.iter().filter_map(assertion).collect())
                .unwrap_or_default(),
        })
        .collect()
}

fn assertion(item: &Yaml) -> Option<(Yaml, String)> {
    let description = item
        .get("AssertDescription")
        .and_then(scalar)
        .unwrap_or_else(|| "a template rule failed".to_owned());
    Some((item.get("Assert")?.clone(), description))
}

fn variables_of(value: Option<&Yaml>) -> BTreeMap<String, Yaml> {
    value
        .and_then(|v| v.get("Environment"))
        .and_then(|v| v.get("Variables"))
        .and_then(Yaml::as_mapping)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// A YAML scalar as CloudFormation sees it: text.
pub(crate) fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `PoloApiBaseUrl` → `POLO_API_BASE_URL`: a parameter's variable name.
pub(crate) fn variable_name(parameter: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in parameter.chars() {
        if c.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
        previous = Some(c);
    }
    out
}

/// An intrinsic function in either spelling: `!Ref X` or `{Ref: X}`,
/// `!Equals [..]` or `{Fn::Equals: [..]}`. Returns its short name and argument.
pub(crate) fn intrinsic(value: &Yaml) -> Option<(String, &Yaml)> {
    match value {
        Yaml::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        )),
        Yaml::Mapping(map) if map.len() == 1 => {
            let (key, arg) = map.iter().next()?;
            let key = key.as_str()?;
            let name = key.strip_prefix("Fn::").unwrap_or(key);
            (key == "Ref" || key.starts_with("Fn::")).then(|| (name.to_owned(), arg))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Stage:
    Type: String
    AllowedValues: [dev, staging, prod]
  RetryLimit:
    Type: Number
    Default: 5
  JwtIssuer:
    Type: String
    AllowedPattern: "https://.+"
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Environment:
      Variables:
        STAGE: !Ref Stage
        RUST_LOG: info
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Checkout:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: checkout
    Properties:
      Environment:
        Variables:
          TABLE: !GetAtt Table.Arn
          URL: !Sub "https://${AWS::Region}.example/${Stage}"
          ONLY_PROD: !If [IsProd, yes, !Ref AWS::NoValue]
          RUST_LOG: debug
Rules:
  IssuerInProd:
    RuleCondition: !Equals [!Ref Stage, prod]
    Assertions:
      - Assert: !Not [!Equals [!Ref JwtIssuer, ""]]
        AssertDescription: prod needs an issuer
      - Assert: {"Fn::Equals": [{Ref: Stage}, prod]}
"#;

    #[test]
    fn parameters_carry_their_variable_default_and_constraints() {
        let template = Template::parse(TEMPLATE).unwrap();

        let stage = template.parameter("Stage").unwrap();
        let retry = template.parameter("RetryLimit").unwrap();
        let issuer = template.parameter("JwtIssuer").unwrap();

        assert_eq!(stage.variable, "STAGE");
        assert_eq!(stage.allowed_values, ["dev", "staging", "prod"]);
        assert_eq!(stage.default, None);
        assert_eq!(retry.variable, "RETRY_LIMIT");
        assert_eq!(retry.default.as_deref(), Some("5"));
        assert!(retry.number);
        assert_eq!(issuer.allowed_pattern.as_deref(), Some("https://.+"));
    }

    #[test]
    fn a_functions_environment_is_globals_overlaid_with_its_own_tags_kept() {
        let template = Template::parse(TEMPLATE).unwrap();

        let [checkout] = template.functions.as_slice() else {
            panic!("one function: {:?}", template.functions);
        };

        assert_eq!(checkout.logical_id, "Checkout");
        assert_eq!(checkout.binary, "checkout");
        let names: Vec<&str> = checkout.variables.keys().map(String::as_str).collect();
        assert_eq!(names, ["ONLY_PROD", "RUST_LOG", "STAGE", "TABLE", "URL"]);
        assert_eq!(checkout.variables["RUST_LOG"], Yaml::from("debug"));
        for (variable, tag) in [
            ("STAGE", "Ref"),
            ("TABLE", "GetAtt"),
            ("URL", "Sub"),
            ("ONLY_PROD", "If"),
        ] {
            let (name, _) = intrinsic(&checkout.variables[variable]).unwrap();
            assert_eq!(name, tag, "{variable}");
        }
        assert_eq!(template.resources["Table"], "AWS::DynamoDB::Table");
    }

    #[test]
    fn rules_keep_their_condition_and_each_assertion_with_its_description() {
        let template = Template::parse(TEMPLATE).unwrap();

        let [rule] = template.rules.as_slice() else {
            panic!("one rule: {:?}", template.rules);
        };

        assert_eq!(rule.name, "IssuerInProd");
        assert!(rule.condition.is_some());
        let descriptions: Vec<&str> = rule.assertions.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(
            descriptions,
            ["prod needs an issuer", "a template rule failed"]
        );
        let (long_form, arg) = intrinsic(&rule.assertions[1].0).unwrap();
        assert_eq!(long_form, "Equals");
        assert_eq!(intrinsic(&arg[0]).map(|(n, _)| n).as_deref(), Some("Ref"));
    }

    #[test]
    fn a_function_without_its_build_binary_is_refused_by_its_logical_id() {
        let text = "Resources:\n  Lost:\n    Type: AWS::Serverless::Function\n    Metadata:\n      Binary: lost\n";

        let err = Template::parse(text).unwrap_err();

        assert_eq!(err, "function Lost has no Metadata.BuildProperties.Binary");
    }

    #[test]
    fn text_without_resources_or_not_yaml_is_refused() {
        assert_eq!(
            Template::parse("Parameters: {}\n").unwrap_err(),
            "no Resources"
        );
        assert!(Template::parse("a: [unclosed\n")
            .unwrap_err()
            .starts_with("not YAML: "));
    }

    #[test]
    fn the_repositorys_template_parses_with_every_function_and_rule() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
        let text = std::fs::read_to_string(path).unwrap();

        let template = Template::parse(&text).unwrap();

        assert_eq!(
            template.functions.len(),
            billing::config::Function::all().count()
        );
        assert!(!template.rules.is_empty());
        assert!(template.parameter("PoloApiBaseUrl").is_some());
    }

    #[test]
    fn parameter_names_become_upper_snake_case_variables() {
        for (parameter, variable) in [
            ("PoloApiBaseUrl", "POLO_API_BASE_URL"),
            ("Stage", "STAGE"),
            ("PoloPlanIdStarter", "POLO_PLAN_ID_STARTER"),
            ("Route53ZoneId", "ROUTE53_ZONE_ID"),
            ("JWTAudience", "JWTAUDIENCE"),
        ] {
            assert_eq!(variable_name(parameter), variable);
        }
    }
}
