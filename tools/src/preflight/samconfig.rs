//! One release environment of `samconfig.toml`, read with the `toml` crate:
//! its deploy (and global) settings and the `parameter_overrides` it passes
//! to CloudFormation.

use std::collections::BTreeMap;
use toml::{Table, Value};

/// One environment of `samconfig.toml`: its deploy (and global) parameters.
#[derive(Debug, Default)]
pub(crate) struct SamConfig {
    /// Whether either table exists for the environment.
    pub(crate) found: bool,
    /// Settings other than the overrides, as text (a list joined by commas).
    pub(crate) keys: BTreeMap<String, String>,
    /// Template parameter → value.
    pub(crate) overrides: BTreeMap<String, String>,
}

impl SamConfig {
    /// Reads the `[<env>.global.parameters]` and `[<env>.deploy.parameters]`
    /// tables (deploy wins); `parameter_overrides` is a string of
    /// `Key=Value` pairs (values may be double-quoted) or a list of them.
    pub(crate) fn parse(text: &str, env: &str) -> Result<Self, String> {
        let root: Table = text.parse().map_err(|e| format!("not TOML: {e}"))?;
        let mut config = SamConfig::default();
        for command in ["global", "deploy"] {
            let Some(table) = root
                .get(env)
                .and_then(|e| e.get(command))
                .and_then(|c| c.get("parameters"))
                .and_then(Value::as_table)
            else {
                continue;
            };
            config.found = true;
            for (key, value) in table {
                let strings =
                    strings(value).ok_or_else(|| format!("{key} is not a string or list"))?;
                if key == "parameter_overrides" {
                    for item in &strings {
                        let pairs = override_pairs(item).ok_or_else(|| {
                            "parameter_overrides is not Key=Value pairs".to_owned()
                        })?;
                        config.overrides.extend(pairs);
                    }
                } else {
                    config.keys.insert(key.clone(), strings.join(","));
                }
            }
        }
        Ok(config)
    }
}

/// A setting's text: a string, a scalar as written (`true`, `3`), or a list
/// of those. A table is none of these.
fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => Some(vec![scalar(other)?]),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Float(n) => Some(n.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Datetime(d) => Some(d.to_string()),
        Value::Array(_) | Value::Table(_) => None,
    }
}

/// `Stage=dev Name="a b"` → pairs (sam's shorthand form).
fn override_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = text.trim().chars().peekable();
    while chars.peek().is_some() {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        let key = key.trim().to_owned();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return None;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        pairs.push((key, value));
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repositorys_samconfig_gives_each_release_environment_its_stack_and_stage() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../samconfig.toml");
        let text = std::fs::read_to_string(path).unwrap();

        for env in ["dev", "staging", "prod"] {
            let config = SamConfig::parse(&text, env).unwrap();

            assert!(config.found, "{env}");
            assert_eq!(config.keys["stack_name"], format!("polo-billing-{env}"));
            assert_eq!(config.keys["capabilities"], "CAPABILITY_IAM");
            assert_eq!(config.overrides["Stage"], env);
        }
    }

    #[test]
    fn deploy_settings_win_over_global_ones_and_lists_and_scalars_read_as_text() {
        let text = r#"
version = 0.1
[dev.deploy.parameters]
region = "eu-west-1"
capabilities = ["CAPABILITY_IAM", 'CAPABILITY_AUTO_EXPAND']
confirm_changeset = false
retries = 3
[dev.global.parameters]
region = "us-east-1"
stack_name = "from-global"
"#;

        let config = SamConfig::parse(text, "dev").unwrap();

        assert_eq!(config.keys["region"], "eu-west-1");
        assert_eq!(config.keys["stack_name"], "from-global");
        assert_eq!(
            config.keys["capabilities"],
            "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND"
        );
        assert_eq!(config.keys["confirm_changeset"], "false");
        assert_eq!(config.keys["retries"], "3");
    }

    #[test]
    fn overrides_read_from_a_string_or_a_list_with_quoted_values() {
        let text = r#"
[prod.deploy.parameters]
parameter_overrides = [
  "Stage=prod",
  'AlarmEmail="on call@example.com" Empty=',
  "Quoted=\"say \\\"hi\\\"\"",
]
"#;

        let config = SamConfig::parse(text, "prod").unwrap();

        assert_eq!(config.overrides["Stage"], "prod");
        assert_eq!(config.overrides["AlarmEmail"], "on call@example.com");
        assert_eq!(config.overrides["Empty"], "");
        assert_eq!(config.overrides["Quoted"], "say \"hi\"");
    }

    #[test]
    fn an_environment_samconfig_does_not_name_is_not_found() {
        let config = SamConfig::parse("[dev.deploy.parameters]\nregion = \"x\"\n", "prod").unwrap();

        assert!(!config.found);
        assert!(config.keys.is_empty() && config.overrides.is_empty());
    }

    #[test]
    fn malformed_toml_a_table_value_and_bad_overrides_are_refused() {
        assert!(SamConfig::parse("[dev.deploy.parameters\n", "dev")
            .unwrap_err()
            .starts_with("not TOML: "));
        assert_eq!(
            SamConfig::parse("[dev.deploy.parameters]\ntags = { a = 1 }\n", "dev").unwrap_err(),
            "tags is not a string or list"
        );
        assert_eq!(
            SamConfig::parse(
                "[dev.deploy.parameters]\nparameter_overrides = \"Stage dev=x\"\n",
                "dev"
            )
            .unwrap_err(),
            "parameter_overrides is not Key=Value pairs"
        );
    }
}
