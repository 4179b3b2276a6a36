//! The template's `Rules`, evaluated as CloudFormation would before a
//! deploy: a rule whose condition holds must have every assertion hold. A
//! failed assertion is reported under the variables of the parameters it
//! refers to, so ops see which values to change.

use super::report::Report;
use super::resolve::{referenced_parameters, Resolver};
use super::template::Template;
use std::collections::BTreeSet;

pub(crate) fn check_rules(template: &Template, resolver: &Resolver<'_>, report: &mut Report) {
    for rule in &template.rules {
        let applies = match &rule.condition {
            None => Ok(true),
            Some(condition) => resolver.condition(condition),
        };
        match applies {
            Ok(false) => {}
            Ok(true) => {
                for (assert, description) in &rule.assertions {
                    match resolver.condition(assert) {
                        Ok(true) => {}
                        Ok(false) => {
                            let mut names = BTreeSet::new();
                            referenced_parameters(assert, template, &mut names);
                            let names: Vec<String> = names.into_iter().collect();
                            report.problem(
                                format!("{}: {description}", names.join(", ")),
                                &format!("rule {}", rule.name),
                            );
                        }
                        Err(()) => report.problem(
                            format!("template rule {}: preflight cannot evaluate it", rule.name),
                            "template",
                        ),
                    }
                }
            }
            Err(()) => report.problem(
                format!(
                    "template rule {}: preflight cannot evaluate its condition",
                    rule.name
                ),
                "template",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String}
  PoloEnvironment: {Type: String}
  AlarmEmail: {Type: String, Default: ""}
Rules:
  ProdIsLive:
    RuleCondition: !Equals [!Ref Stage, prod]
    Assertions:
      - Assert: !Equals [!Ref PoloEnvironment, production]
        AssertDescription: Stage=prod must use PoloEnvironment=production.
      - Assert: !Not [!Equals [!Ref AlarmEmail, ""]]
        AssertDescription: Stage=prod needs an AlarmEmail.
  Always:
    Assertions:
      - Assert: !Or [!Equals [!Ref Stage, prod], !Equals [!Ref PoloEnvironment, sandbox]]
        AssertDescription: only prod is live.
  Unreadable:
    RuleCondition: !Condition Elsewhere
    Assertions: []
  UnreadableAssert:
    Assertions:
      - Assert: !Contains [[a], a]
Resources: {}
"#;

    fn problems_for(stage: &str, environment: &str, email: &str) -> Vec<(String, Vec<String>)> {
        let template = Template::parse(TEMPLATE).unwrap();
        let parameters = BTreeMap::from([
            ("Stage".to_owned(), Some(stage.to_owned())),
            ("PoloEnvironment".to_owned(), Some(environment.to_owned())),
            ("AlarmEmail".to_owned(), Some(email.to_owned())),
        ]);
        let resolver = Resolver {
            template: &template,
            parameters: &parameters,
            resource: &|id, _| id.to_owned(),
            region: "us-east-1",
        };
        let mut report = Report::new("test".to_owned());

        check_rules(&template, &resolver, &mut report);

        report
            .problems
            .into_iter()
            .map(|(text, sources)| (text, sources.into_iter().collect()))
            .collect()
    }

    const UNREADABLE: [&str; 2] = [
        "template rule Unreadable: preflight cannot evaluate its condition",
        "template rule UnreadableAssert: preflight cannot evaluate it",
    ];

    #[test]
    fn a_rule_whose_condition_does_not_hold_asks_nothing() {
        let problems = problems_for("dev", "sandbox", "");

        let texts: Vec<&str> = problems.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, UNREADABLE);
    }

    #[test]
    fn each_failed_assertion_names_its_parameters_variables_and_its_rule() {
        let problems = problems_for("prod", "sandbox", "");

        let failed: Vec<(String, Vec<String>)> = problems
            .into_iter()
            .filter(|(t, _)| !UNREADABLE.contains(&t.as_str()))
            .collect();
        assert_eq!(
            failed,
            [
                (
                    "ALARM_EMAIL: Stage=prod needs an AlarmEmail.".to_owned(),
                    vec!["rule ProdIsLive".to_owned()]
                ),
                (
                    "POLO_ENVIRONMENT: Stage=prod must use PoloEnvironment=production.".to_owned(),
                    vec!["rule ProdIsLive".to_owned()]
                ),
            ]
        );
    }

    #[test]
    fn an_assertion_over_several_parameters_names_them_all() {
        let problems = problems_for("staging", "production", "");

        assert!(
            problems.iter().any(
                |(t, sources)| t == "POLO_ENVIRONMENT, STAGE: only prod is live."
                    && sources == &["rule Always".to_owned()]
            ),
            "{problems:?}"
        );
    }
}
