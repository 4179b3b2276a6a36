//! `preflight`: refuses a release before it ships with missing or malformed
//! configuration, naming every problem by its variable. Ops run it against
//! an environment file (`KEY=VALUE` lines, `#` comments); `build.sh` runs it
//! before every release build.
//!
//! What it checks, for a release environment (`dev`, `staging`, `prod`):
//! - every template parameter has a value — from the file (the parameter's
//!   name as a variable: `PoloApiBaseUrl` is `POLO_API_BASE_URL`), from
//!   `samconfig.toml`'s `parameter_overrides` for that environment, or from
//!   its default — that matches its `AllowedValues` / `AllowedPattern`, and
//!   the template's `Rules` hold;
//! - the file and samconfig agree, samconfig names only real parameters and
//!   has its stack name, region and capabilities;
//! - no plain secret is in the file (deployed stages read every secret from
//!   Secrets Manager), no emulator endpoint, and no unknown name (a typo);
//!   the stack's own values (secret ARNs, table name), which the admin CLI
//!   reads from the same file once the stack exists, may be there;
//! - each function's environment, as the template builds it from those
//!   parameters (and those stack values), passes that function's own
//!   configuration parser
//!   (`DashboardConfig`, `WebhookConfig` with and without Polo, `SyncConfig`,
//!   `ReconcileConfig`): the same check the function runs at cold start.
//!
//! A file with `STAGE=local` is checked against the parsers only (the local
//! stack reads it as is). `--sam-env-vars events/env.json` checks the
//! `sam local invoke` file instead: an entry per function, only variables
//! the template declares (sam drops the others), and each function's
//! configuration reads. Values are never printed: some are secrets.
//!
//! Exit status: 0 ready, 1 refused (problems listed), 2 usage or unreadable
//! input.

use billing::config::Function as Deployed;
use billing::config::{DashboardConfig, Problem, ReconcileConfig, SyncConfig, WebhookConfig};
use clap::{ArgGroup, Parser};
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
const RELEASE_ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

fn main() -> ExitCode {
    let args =
        billing::cli_args::help_word_as_flag(&std::env::args().skip(1).collect::<Vec<_>>(), false);
    // Help to stdout (exit 0); a usage error to stderr (exit 2).
    let options = Options::try_parse_from(std::iter::once("preflight".to_owned()).chain(args))
        .unwrap_or_else(|err| err.exit());
    match run(&options) {
        Ok(report) => {
            print!("{}", report.render());
            if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(message) => {
            eprintln!("preflight: {message}");
            ExitCode::from(2)
        }
    }
}

/// Checks an environment file (or the `sam local` env file) against every
/// function's configuration, the template and samconfig before a deploy.
#[derive(Debug, Default, Parser)]
#[command(
    name = "preflight",
    about = "Checks an environment file against every function's configuration, template.yaml and samconfig.toml before a deploy.",
    group(ArgGroup::new("input").required(true).args(["env_file", "sam_env_vars"]))
)]
struct Options {
    /// The environment file (STAGE=local: the local stack's; else a release environment's).
    env_file: Option<PathBuf>,
    /// Check `sam local`'s env-vars file (events/env.json) instead.
    #[arg(long, value_name = "FILE")]
    sam_env_vars: Option<PathBuf>,
    /// Release environment (dev, staging, prod); default: STAGE in the file.
    #[arg(long, value_name = "NAME")]
    config_env: Option<String>,
    /// SAM template [default: template.yaml].
    #[arg(long, value_name = "PATH")]
    template: Option<PathBuf>,
    /// SAM config [default: samconfig.toml].
    #[arg(long, value_name = "PATH")]
    samconfig: Option<PathBuf>,
    /// When ready, write every parameter set by the file or samconfig, for
    /// `sam deploy --parameter-overrides file://PATH` (YAML).
    #[arg(long, value_name = "PATH")]
    write_overrides: Option<PathBuf>,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run(options: &Options) -> Result<Report, String> {
    let template_path = options
        .template
        .clone()
        .unwrap_or_else(|| "template.yaml".into());
    let template = Template::parse(&read(&template_path)?)
        .map_err(|e| format!("{}: {e}", template_path.display()))?;
    if let Some(path) = &options.sam_env_vars {
        let text = read(path)?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        return Ok(check_sam_env_vars(&template, &json, path));
    }
    let Some(env_path) = &options.env_file else {
        return Err("name an environment file".to_owned());
    };
    let env = EnvFile::parse(&read(env_path)?);
    let file_stage = env.values.get("STAGE").map(|s| s.trim().to_owned());
    let config_env = options.config_env.clone().or(file_stage);
    match config_env.as_deref() {
        Some("local") if options.config_env.is_none() => {
            Ok(check_local(&template, &env, env_path))
        }
        Some(name) if RELEASE_ENVIRONMENTS.contains(&name) => {
            let samconfig_path = options
                .samconfig
                .clone()
                .unwrap_or_else(|| "samconfig.toml".into());
            let samconfig = SamConfig::parse(&read(&samconfig_path)?, name)
                .map_err(|e| format!("{}: {e}", samconfig_path.display()))?;
            let release = Release {
                name,
                env: &env,
                env_path,
                template: &template,
                samconfig: &samconfig,
            };
            let (report, parameters) = release.check();
            if report.problems.is_empty() {
                if let Some(path) = &options.write_overrides {
                    write_overrides(path, &parameters)?;
                }
            }
            Ok(report)
        }
        Some(other) => Err(format!(
            "`{other}` is not a release environment (one of {}; STAGE=local files are checked without --config-env)",
            RELEASE_ENVIRONMENTS.join(", ")
        )),
        None => Err("which environment? pass --config-env or set STAGE in the file".to_owned()),
    }
}

/// The problems found, each once, with the functions or sources that
/// reported it.
#[derive(Debug, Default)]
struct Report {
    heading: String,
    checked: Vec<String>,
    problems: BTreeMap<String, BTreeSet<String>>,
}

impl Report {
    fn problem(&mut self, text: impl Into<String>, source: &str) {
        let entry = self.problems.entry(text.into()).or_default();
        if !source.is_empty() {
            entry.insert(source.to_owned());
        }
    }

    fn render(&self) -> String {
        let mut out = format!("preflight: {}\n", self.heading);
        for line in &self.checked {
            out.push_str(&format!("  checked: {line}\n"));
        }
        if self.problems.is_empty() {
            out.push_str("ready: no problem found\n");
            return out;
        }
        out.push_str(&format!("refused: {} problem(s)\n", self.problems.len()));
        for (text, sources) in &self.problems {
            if sources.is_empty() {
                out.push_str(&format!("  - {text}\n"));
            } else {
                let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
                out.push_str(&format!("  - {text} [{}]\n", sources.join(", ")));
            }
        }
        out
    }
}

// ---------------------------------------------------------------- env file

/// A dotenv-style file: `KEY=VALUE` lines, `#` comments, blank lines, an
/// optional `export ` prefix, values optionally in single or double quotes.
#[derive(Debug, Default)]
struct EnvFile {
    values: BTreeMap<String, String>,
    /// Problems of the file itself (never echoing a value).
    problems: Vec<String>,
}

impl EnvFile {
    fn parse(text: &str) -> Self {
        let mut file = EnvFile::default();
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                file.problems
                    .push(format!("line {number} is not KEY=VALUE"));
                continue;
            };
            let key = key.trim();
            let valid_key = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_key {
                file.problems
                    .push(format!("line {number}: the name is not a variable name"));
                continue;
            }
            if let Some(first) = first_line.get(key) {
                file.problems
                    .push(format!("{key} is set twice (lines {first} and {number})"));
                continue;
            }
            first_line.insert(key.to_owned(), number);
            file.values.insert(key.to_owned(), unquote(value.trim()));
        }
        file
    }
}

fn unquote(value: &str) -> String {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('\'') {
        value[1..value.len() - 1].to_owned()
    } else if quoted('"') {
        let mut out = String::new();
        let mut chars = value[1..value.len() - 1].chars();
        while let Some(c) = chars.next() {
            match (c, chars.clone().next()) {
                ('\\', Some(next @ ('"' | '\\'))) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push(c),
            }
        }
        out
    } else {
        value.to_owned()
    }
}

/// `PoloApiBaseUrl` → `POLO_API_BASE_URL`: a parameter's variable name.
fn variable_name(parameter: &str) -> String {
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

// ---------------------------------------------------------------- template

#[derive(Debug)]
struct Parameter {
    name: String,
    variable: String,
    default: Option<String>,
    allowed_values: Vec<String>,
    allowed_pattern: Option<String>,
    number: bool,
}

#[derive(Debug)]
struct Function {
    logical_id: String,
    binary: String,
    /// Globals' variables overlaid with the function's own.
    variables: BTreeMap<String, Yaml>,
}

#[derive(Debug)]
struct Rule {
    name: String,
    condition: Option<Yaml>,
    assertions: Vec<(Yaml, String)>,
}

#[derive(Debug)]
struct Template {
    parameters: Vec<Parameter>,
    functions: Vec<Function>,
    /// Logical id → resource type.
    resources: BTreeMap<String, String>,
    rules: Vec<Rule>,
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
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

impl Template {
    fn parse(text: &str) -> Result<Self, String> {
        let root: Yaml = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let mut parameters = Vec::new();
        if let Some(map) = root.get("Parameters").and_then(Yaml::as_mapping) {
            for (name, spec) in map {
                let Some(name) = name.as_str() else { continue };
                parameters.push(Parameter {
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
                });
            }
        }
        let globals = variables_of(root.get("Globals").and_then(|g| g.get("Function")));
        let mut functions = Vec::new();
        let mut resources = BTreeMap::new();
        let Some(map) = root.get("Resources").and_then(Yaml::as_mapping) else {
            return Err("no Resources".to_owned());
        };
        for (id, resource) in map {
            let Some(id) = id.as_str() else { continue };
            let kind = resource.get("Type").and_then(Yaml::as_str).unwrap_or("");
            resources.insert(id.to_owned(), kind.to_owned());
            if kind != "AWS::Serverless::Function" {
                continue;
            }
            // Where sam build reads it (a bare `Metadata.Binary` is ignored,
            // and cargo lambda then builds every binary of the workspace).
            let binary = resource
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|m| m.get("Binary"))
                .and_then(Yaml::as_str)
                .ok_or_else(|| format!("function {id} has no Metadata.BuildProperties.Binary"))?;
            let mut variables = globals.clone();
            variables.extend(variables_of(resource.get("Properties")));
            functions.push(Function {
                logical_id: id.to_owned(),
                binary: binary.to_owned(),
                variables,
            });
        }
        let mut rules = Vec::new();
        if let Some(map) = root.get("Rules").and_then(Yaml::as_mapping) {
            for (name, rule) in map {
                let assertions = rule
                    .get("Assertions")
                    .and_then(Yaml::as_sequence)
                    .map(|list| {
                        list.iter()
                            .filter_map(|a| {
                                let description = a
                                    .get("AssertDescription")
                                    .and_then(scalar)
                                    .unwrap_or_else(|| "a template rule failed".to_owned());
                                Some((a.get("Assert")?.clone(), description))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                rules.push(Rule {
                    name: name.as_str().unwrap_or("?").to_owned(),
                    condition: rule.get("RuleCondition").cloned(),
                    assertions,
                });
            }
        }
        Ok(Template {
            parameters,
            functions,
            resources,
            rules,
        })
    }

    fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

/// An intrinsic function in either spelling: `!Ref X` or `{Ref: X}`,
/// `!Equals [..]` or `{Fn::Equals: [..]}`. Returns its short name and argument.
fn intrinsic(value: &Yaml) -> Option<(String, &Yaml)> {
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

/// How a template expression becomes a string, given the parameters'
/// values (a missing parameter is `None`) and a placeholder for what only
/// CloudFormation knows (resource names and ARNs).
struct Resolver<'a> {
    template: &'a Template,
    parameters: &'a BTreeMap<String, Option<String>>,
    /// What a resource reference becomes.
    resource: &'a dyn Fn(&str, &str) -> String,
    region: &'a str,
}

impl Resolver<'_> {
    /// `None`: the variable is absent (`AWS::NoValue`, a missing parameter,
    /// or an expression preflight does not evaluate, such as `Fn::If`).
    fn value(&self, expr: &Yaml) -> Option<String> {
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
            _ => None,
        }
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

    fn condition(&self, expr: &Yaml) -> Result<bool, ()> {
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

/// Parameters a rule expression refers to.
fn referenced_parameters(expr: &Yaml, template: &Template, out: &mut BTreeSet<String>) {
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

// ---------------------------------------------------------------- samconfig

/// One environment of `samconfig.toml`: its deploy (and global) parameters.
#[derive(Debug, Default)]
struct SamConfig {
    found: bool,
    keys: BTreeMap<String, String>,
    overrides: BTreeMap<String, String>,
}

impl SamConfig {
    /// Reads the `[<env>.global.parameters]` and `[<env>.deploy.parameters]`
    /// tables (deploy wins); `parameter_overrides` is a string of
    /// `Key=Value` pairs (values may be double-quoted) or a list of them.
    fn parse(text: &str, env: &str) -> Result<Self, String> {
        let wanted = [
            format!("{env}.global.parameters"),
            format!("{env}.deploy.parameters"),
        ];
        let mut config = SamConfig::default();
        let mut in_table = false;
        let mut lines = text.lines().enumerate();
        while let Some((index, raw)) = lines.next() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(table) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                in_table = wanted.iter().any(|w| w == table.trim());
                config.found |= in_table;
                continue;
            }
            if !in_table {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("line {} is not key = value", index + 1));
            };
            let key = key.trim().to_owned();
            let mut value = value.trim().to_owned();
            if value.starts_with('[') {
                while !value.trim_end().ends_with(']') {
                    let Some((_, more)) = lines.next() else {
                        return Err(format!("{key}: unterminated list"));
                    };
                    value.push(' ');
                    value.push_str(more.trim());
                }
            }
            let strings = toml_strings(&value)
                .ok_or_else(|| format!("line {}: {key} is not a string or list", index + 1))?;
            if key == "parameter_overrides" {
                for item in &strings {
                    let pairs = override_pairs(item)
                        .ok_or_else(|| "parameter_overrides is not Key=Value pairs".to_owned())?;
                    config.overrides.extend(pairs);
                }
            } else {
                config.keys.insert(key, strings.join(","));
            }
        }
        Ok(config)
    }
}

/// The strings of a TOML value: `"a"`, `'a'`, `["a", "b"]`, or a bare
/// scalar (`true`, `3`) as its text.
fn toml_strings(value: &str) -> Option<Vec<String>> {
    let value = value.trim();
    let inner = match value.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => value,
    };
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        match first {
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            other => s.push(other),
                        },
                        c => s.push(c),
                    }
                }
                out.push(s);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => s.push(c),
                    }
                }
                out.push(s);
            }
            '#' => break,
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ',' || c.is_whitespace() {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(s);
            }
        }
    }
    Some(out)
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

// ---------------------------------------------------------------- functions

/// Which configuration parser a deployed function runs at cold start
/// (`billing::config::Function` names them; `billing::app` builds them).
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
fn check_functions(
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

// ---------------------------------------------------------------- modes

/// `STAGE=local`: the file is the environment, as the local stack reads it.
fn check_local(template: &Template, env: &EnvFile, path: &Path) -> Report {
    let mut report = Report {
        heading: format!(
            "{} (STAGE=local: function configuration only; samconfig and template parameters are for release environments)",
            path.display()
        ),
        ..Report::default()
    };
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

struct Release<'a> {
    name: &'a str,
    env: &'a EnvFile,
    env_path: &'a Path,
    template: &'a Template,
    samconfig: &'a SamConfig,
}

impl Release<'_> {
    /// The report, and every parameter set by the file or samconfig.
    fn check(&self) -> (Report, BTreeMap<String, String>) {
        let name = self.name;
        let file = self.env_path.display().to_string();
        let mut report = Report {
            heading: format!("release environment `{name}` ({file}, samconfig [{name}], template)"),
            ..Report::default()
        };
        for problem in &self.env.problems {
            report.problem(problem.clone(), "file");
        }
        self.check_samconfig(&mut report);
        let stack_values = self.check_file_keys(&mut report);
        let (resolved, explicit, missing) = self.resolve_parameters(&mut report);
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
            parameters: &resolved,
            resource: &placeholder,
            region: &region,
        };
        self.check_rules(&resolver, &mut report);
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
        check_functions(self.template, &mut report, &environment, &missing);
        report.checked.push(format!(
            "{} template parameters, samconfig [{name}]",
            self.template.parameters.len()
        ));
        (report, explicit)
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
            if self.template.parameters.iter().any(|p| &p.variable == key) {
                if value.trim_start().starts_with("whsec_") {
                    report.problem(
                        format!("{key} holds a whsec_ secret: secrets live in Secrets Manager, never in a parameter"),
                        "file",
                    );
                }
                continue;
            }
            let text = if SECRET_VARIABLES.contains(&key.as_str())
                || value.trim_start().starts_with("whsec_")
            {
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
                // deployed, as the admin CLI reads them: checked below by
                // the functions' parsers, ignored by the deploy.
                stack_values.insert(key.clone(), value.clone());
                continue;
            } else {
                format!("{key} is not a template parameter (a typo?); remove it")
            };
            report.problem(text, "file");
        }
        stack_values
    }

    /// Each parameter's value: the file, then samconfig, then its default.
    /// Returns (parameter → value or None when missing, the explicitly set
    /// ones, the variables of missing parameters).
    #[allow(clippy::type_complexity)]
    fn resolve_parameters(
        &self,
        report: &mut Report,
    ) -> (
        BTreeMap<String, Option<String>>,
        BTreeMap<String, String>,
        BTreeSet<String>,
    ) {
        let name = self.name;
        let file = self.env_path.display().to_string();
        let mut resolved = BTreeMap::new();
        let mut explicit = BTreeMap::new();
        let mut missing = BTreeSet::new();
        for p in &self.template.parameters {
            let var = &p.variable;
            let from_file = self.env.values.get(var).map(|v| v.trim().to_owned());
            let from_samconfig = self.samconfig.overrides.get(&p.name).cloned();
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
            let value = from_file
                .clone()
                .or(from_samconfig.clone())
                .filter(|v| !v.is_empty() || p.default.is_some());
            if let Some(v) = &value {
                explicit.insert(p.name.clone(), v.clone());
            }
            let value = value.or(p.default.clone());
            let Some(value) = value else {
                report.problem(
                    format!(
                        "{var} is missing (template parameter {}: not in {file}, not in samconfig [{name}], no default)",
                        p.name
                    ),
                    "parameters",
                );
                missing.insert(var.clone());
                resolved.insert(p.name.clone(), None);
                continue;
            };
            if !p.allowed_values.is_empty() && !p.allowed_values.contains(&value) {
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
                match regex::Regex::new(&format!("^(?:{pattern})$")) {
                    Ok(re) if re.is_match(&value) => {}
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
            if var == "STAGE" && value != name {
                report.problem(
                    format!("STAGE must be {name} for the {name} release environment"),
                    "parameters",
                );
            }
            resolved.insert(p.name.clone(), Some(value));
        }
        (resolved, explicit, missing)
    }

    fn check_rules(&self, resolver: &Resolver<'_>, report: &mut Report) {
        for rule in &self.template.rules {
            let applies = match &rule.condition {
                None => Ok(true),
                Some(condition) => resolver.condition(condition),
            };
            let mut results = Vec::new();
            for (assert, description) in &rule.assertions {
                results.push((resolver.condition(assert), assert, description));
            }
            match applies {
                Ok(false) => {}
                Ok(true) => {
                    for (result, assert, description) in results {
                        match result {
                            Ok(true) => {}
                            Ok(false) => {
                                let mut names = BTreeSet::new();
                                referenced_parameters(assert, self.template, &mut names);
                                let names: Vec<String> = names.into_iter().collect();
                                report.problem(
                                    format!("{}: {description}", names.join(", ")),
                                    &format!("rule {}", rule.name),
                                );
                            }
                            Err(()) => report.problem(
                                format!(
                                    "template rule {}: preflight cannot evaluate it",
                                    rule.name
                                ),
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

/// Writes the parameters as YAML (JSON is YAML) for
/// `sam deploy --parameter-overrides file://PATH`.
fn write_overrides(path: &Path, parameters: &BTreeMap<String, String>) -> Result<(), String> {
    let body = serde_json::to_string_pretty(parameters)
        .map_err(|e| format!("cannot encode the overrides: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, body + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `sam local invoke --env-vars`: `{"Parameters": {..}, "<LogicalId>": {..}}`.
/// sam sets only variables the template declares for a function; the others
/// it leaves as the template says, resolving a parameter to its default (or
/// its name) and a resource to its logical id.
fn check_sam_env_vars(template: &Template, json: &serde_json::Value, path: &Path) -> Report {
    let mut report = Report {
        heading: format!("{} (sam local invoke --env-vars)", path.display()),
        ..Report::default()
    };
    let Some(entries) = json.as_object() else {
        report.problem("the file is not a JSON object", "file");
        return report;
    };
    let strings = |value: &serde_json::Value, label: &str, report: &mut Report| {
        let mut out = BTreeMap::new();
        match value.as_object() {
            Some(map) => {
                for (k, v) in map {
                    match v.as_str() {
                        Some(s) => {
                            out.insert(k.clone(), s.to_owned());
                        }
                        None => report.problem(format!("{k} is not a string"), label),
                    }
                }
            }
            None => report.problem("entry is not an object of strings", label),
        }
        out
    };
    let shared = entries
        .get("Parameters")
        .map(|v| strings(v, "Parameters", &mut report))
        .unwrap_or_default();
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
    for id in entries.keys() {
        if id != "Parameters" && !template.functions.iter().any(|f| &f.logical_id == id) {
            report.problem(format!("{id} is not a function of template.yaml"), "file");
        }
    }
    let mut per_function = BTreeMap::new();
    for function in &template.functions {
        let id = &function.logical_id;
        let own = match entries.get(id) {
            Some(value) => strings(value, id, &mut report),
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
    let parameters: BTreeMap<String, Option<String>> = template
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                Some(p.default.clone().unwrap_or(p.name.clone())),
            )
        })
        .collect();
    let logical_id = |id: &str, _: &str| id.to_owned();
    let resolver = Resolver {
        template,
        parameters: &parameters,
        resource: &logical_id,
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
