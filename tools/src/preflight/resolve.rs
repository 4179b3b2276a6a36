//! CloudFormation expressions evaluated as far as preflight needs them: an
//! environment variable's value (`Ref`, `Sub`, `GetAtt`) and a rule's
//! condition (`Equals`, `Not`, `And`, `Or`), from the parameters' values
//! and a placeholder for what only CloudFormation knows (resource names and
//! ARNs). Anything else is "not evaluated", never guessed.

use super::template::{intrinsic, scalar, Template};
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};

/// How a template expression becomes a string, given the parameters'
/// values (a missing parameter is `None`) and a placeholder for what only
/// CloudFormation knows (resource names and ARNs).
pub(crate) struct Resolver<'a> {
    pub(crate) template: &'a Template,
    pub(crate) parameters: &'a BTreeMap<String, Option<String>>,
    /// What a resource reference becomes, from its logical id and type.
    pub(crate) resource: &'a dyn Fn(&str, &str) -> String,
    pub(crate) region: &'a str,
}

impl Resolver<'_> {
    /// `None`: the variable is absent (`AWS::NoValue`, a missing parameter,
    /// or an expression preflight does not evaluate, such as `Fn::If`).
    pub(crate) fn value(&self, expr: &Yaml) -> Option<String> {
        if let Some(s) = scalar(expr) {
            return Some(s);
        }
        let (name, arg) = intrinsic(expr)?;
        match name.as_str() {
            "Ref" => self.reference(arg.as_str()?),
            "GetAtt" => {
                let target = match arg {
                    Yaml::Sequence(parts) => parts.first().and_then(Yaml::as_str)?.to_owned(),
                    other => other.as_str()?.split('.').next()?.to_owned(),
                };
                let kind = self.template.resources.get(&target)?;
                Some((self.resource)(&target, kind))
            }
            "Sub" => {
                let text = match arg {
                    Yaml::Sequence(parts) => parts.first().and_then(Yaml::as_str)?,
                    other => other.as_str()?,
                };
                self.substitute(text)
            }
            _ => None,
        }
    }

    /// `Fn::Sub`'s `${Name}` (or `${Resource.Attribute}`) placeholders.
    fn substitute(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let name = &after[..end];
            out.push_str(&self.reference(name.split('.').next()?)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn reference(&self, name: &str) -> Option<String> {
        match name {
            "AWS::NoValue" => None,
            "AWS::Region" => Some(self.region.to_owned()),
            "AWS::AccountId" => Some("123456789012".to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::StackName" => Some("stack".to_owned()),
            _ => {
                if let Some(value) = self.parameters.get(name) {
                    return value.clone();
                }
                let kind = self.template.resources.get(name)?;
                Some((self.resource)(name, kind))
            }
        }
    }

    /// `Err`: a condition preflight cannot evaluate.
    pub(crate) fn condition(&self, expr: &Yaml) -> Result<bool, ()> {
        let (name, arg) = intrinsic(expr).ok_or(())?;
        let list = || arg.as_sequence().ok_or(());
        match name.as_str() {
            "Equals" => {
                let items = list()?;
                let [a, b] = items.as_slice() else {
                    return Err(());
                };
                Ok(self.value(a).unwrap_or_default() == self.value(b).unwrap_or_default())
            }
            "Not" => {
                let items = list()?;
                let [inner] = items.as_slice() else {
                    return Err(());
                };
                Ok(!self.condition(inner)?)
            }
            "And" => list()?
                .iter()
                .try_fold(true, |acc, c| Ok(acc && self.condition(c)?)),
            "Or" => list()?
                .iter()
                .try_fold(false, |acc, c| Ok(acc || self.condition(c)?)),
            _ => Err(()),
        }
    }
}

/// The variables of the parameters a rule expression refers to.
pub(crate) fn referenced_parameters(expr: &Yaml, template: &Template, out: &mut BTreeSet<String>) {
    if let Some((name, arg)) = intrinsic(expr) {
        if name == "Ref" {
            if let Some(p) = arg.as_str().and_then(|n| template.parameter(n)) {
                out.insert(p.variable.clone());
            }
            return;
        }
        referenced_parameters(arg, template, out);
    } else if let Some(items) = expr.as_sequence() {
        for item in items {
            referenced_parameters(item, template, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String}
  ApiDomainName: {Type: String, Default: ""}
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
  Table:
    Type: AWS::DynamoDB::Table
"#;

    fn expr(text: &str) -> Yaml {
        serde_yaml::from_str(text).unwrap()
    }

    fn with_resolver<T>(stage: Option<&str>, check: impl FnOnce(&Resolver<'_>) -> T) -> T {
        let template = Template::parse(TEMPLATE).unwrap();
        let parameters = BTreeMap::from([
            ("Stage".to_owned(), stage.map(str::to_owned)),
            ("ApiDomainName".to_owned(), Some(String::new())),
        ]);
        let placeholder = |id: &str, kind: &str| format!("{kind}/{id}");
        let resolver = Resolver {
            template: &template,
            parameters: &parameters,
            resource: &placeholder,
            region: "eu-west-1",
        };
        check(&resolver)
    }

    #[test]
    fn references_resolve_to_parameters_pseudo_parameters_and_resource_placeholders() {
        with_resolver(Some("dev"), |r| {
            assert_eq!(r.value(&expr("!Ref Stage")).as_deref(), Some("dev"));
            assert_eq!(r.value(&expr("{Ref: Stage}")).as_deref(), Some("dev"));
            assert_eq!(
                r.value(&expr("!Ref AWS::Region")).as_deref(),
                Some("eu-west-1")
            );
            assert_eq!(
                r.value(&expr("!Ref Table")).as_deref(),
                Some("AWS::DynamoDB::Table/Table")
            );
            assert_eq!(
                r.value(&expr("!GetAtt Secret.Arn")).as_deref(),
                Some("AWS::SecretsManager::Secret/Secret")
            );
            assert_eq!(
                r.value(&expr("{'Fn::GetAtt': [Table, Arn]}")).as_deref(),
                Some("AWS::DynamoDB::Table/Table")
            );
            assert_eq!(r.value(&expr("42")).as_deref(), Some("42"));
        });
    }

    #[test]
    fn sub_fills_every_placeholder_in_either_spelling() {
        with_resolver(Some("dev"), |r| {
            assert_eq!(
                r.value(&expr(
                    r#"!Sub "https://${AWS::Region}.example/${Stage}/${Table.Arn}""#
                ))
                .as_deref(),
                Some("https://eu-west-1.example/dev/AWS::DynamoDB::Table/Table")
            );
            assert_eq!(
                r.value(&expr(r#"{"Fn::Sub": ["${Stage}-billing", {}]}"#))
                    .as_deref(),
                Some("dev-billing")
            );
        });
    }

    #[test]
    fn no_value_a_missing_parameter_and_unevaluated_functions_leave_the_variable_absent() {
        with_resolver(None, |r| {
            assert_eq!(r.value(&expr("!Ref AWS::NoValue")), None);
            assert_eq!(r.value(&expr("!Ref Stage")), None);
            assert_eq!(r.value(&expr("!Sub ${Stage}-x")), None);
            assert_eq!(r.value(&expr("!If [IsProd, a, b]")), None);
            assert_eq!(r.value(&expr("!Ref Nowhere")), None);
            assert_eq!(r.value(&expr("!Sub unclosed-${Stage")), None);
        });
    }

    #[test]
    fn conditions_combine_equals_not_and_or() {
        with_resolver(Some("prod"), |r| {
            assert_eq!(r.condition(&expr("!Equals [!Ref Stage, prod]")), Ok(true));
            assert_eq!(
                r.condition(&expr("!Not [!Equals [!Ref ApiDomainName, '']]")),
                Ok(false)
            );
            assert_eq!(
                r.condition(&expr(
                    "!And [!Equals [!Ref Stage, prod], !Equals [!Ref ApiDomainName, '']]"
                )),
                Ok(true)
            );
            assert_eq!(
                r.condition(&expr(
                    "{'Fn::Or': [{'Fn::Equals': [{Ref: Stage}, dev]}, !Equals [a, b]]}"
                )),
                Ok(false)
            );
        });
    }

    #[test]
    fn a_condition_preflight_cannot_evaluate_is_an_error_not_a_guess() {
        with_resolver(Some("prod"), |r| {
            assert_eq!(r.condition(&expr("!Condition IsProd")), Err(()));
            assert_eq!(r.condition(&expr("!Equals [a]")), Err(()));
            assert_eq!(r.condition(&expr("!Not [a, b]")), Err(()));
            assert_eq!(r.condition(&expr("plain")), Err(()));
        });
    }

    #[test]
    fn a_rules_parameters_are_named_by_their_variables() {
        let template = Template::parse(TEMPLATE).unwrap();
        let mut names = BTreeSet::new();

        referenced_parameters(
            &expr("!And [!Equals [!Ref Stage, prod], !Not [!Equals [!Ref ApiDomainName, !Ref AWS::Region]]]"),
            &template,
            &mut names,
        );

        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["API_DOMAIN_NAME", "STAGE"]
        );
    }
}
