//! The command line: which mode a run is (a `STAGE=local` file, a release
//! environment's file, or sam's env-vars file), reading its inputs, writing
//! `--write-overrides`, and the exit status (0 ready, 1 refused, 2 usage or
//! unreadable input).

use super::env_file::EnvFile;
use super::functions::check_local;
use super::release::{Release, RELEASE_ENVIRONMENTS};
use super::report::Report;
use super::sam_env_vars::check_sam_env_vars;
use super::samconfig::SamConfig;
use super::template::Template;
use clap::{ArgGroup, Parser};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Checks an environment file (or the `sam local` env file) against every
/// function's configuration, the template and samconfig before a deploy.
#[derive(Debug, Default, Parser)]
#[command(
    name = "preflight",
    about = "Checks an environment file against every function's configuration, template.yaml and samconfig.toml before a deploy.",
    group(ArgGroup::new("input").required(true).args(["env_file", "sam_env_vars"]))
)]
pub struct Options {
    /// The environment file (STAGE=local: the local stack's; else a release environment's).
    pub env_file: Option<PathBuf>,
    /// Check `sam local`'s env-vars file (events/env.json) instead.
    #[arg(long, value_name = "FILE")]
    pub sam_env_vars: Option<PathBuf>,
    /// Release environment (dev, staging, prod); default: STAGE in the file.
    #[arg(long, value_name = "NAME")]
    pub config_env: Option<String>,
    /// SAM template [default: template.yaml].
    #[arg(long, value_name = "PATH")]
    pub template: Option<PathBuf>,
    /// SAM config [default: samconfig.toml].
    #[arg(long, value_name = "PATH")]
    pub samconfig: Option<PathBuf>,
    /// When ready, write every parameter set by the file or samconfig, for
    /// `sam deploy --parameter-overrides file://PATH` (YAML).
    #[arg(long, value_name = "PATH")]
    pub write_overrides: Option<PathBuf>,
}

/// The whole command over its arguments (without the program name).
pub fn main(args: &[String]) -> ExitCode {
    let args = billing::cli_args::help_word_as_flag(args, false);
    // Help to stdout (exit 0); a usage error to stderr (exit 2).
    let options = match Options::try_parse_from(std::iter::once("preflight".to_owned()).chain(args))
    {
        Ok(options) => options,
        Err(err) => err.exit(),
    };
    match run(&options) {
        Ok(report) => {
            print!("{}", report.render());
            if report.is_ready() {
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

/// The report, or why there is none (usage, unreadable input).
pub fn run(options: &Options) -> Result<Report, String> {
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
    let config_env = options.config_env.clone().or(env.stage());
    match config_env.as_deref() {
        // A local file names itself; asking for `--config-env local` is a
        // release check of something that is never released.
        Some("local") if options.config_env.is_none() => {
            Ok(check_local(&template, &env, env_path))
        }
        Some(name) if RELEASE_ENVIRONMENTS.contains(&name) => {
            release(options, name, &env, env_path, &template)
        }
        Some(other) => Err(format!(
            "`{other}` is not a release environment (one of {}; STAGE=local files are checked without --config-env)",
            RELEASE_ENVIRONMENTS.join(", ")
        )),
        None => Err("which environment? pass --config-env or set STAGE in the file".to_owned()),
    }
}

fn release(
    options: &Options,
    name: &str,
    env: &EnvFile,
    env_path: &Path,
    template: &Template,
) -> Result<Report, String> {
    let samconfig_path = options
        .samconfig
        .clone()
        .unwrap_or_else(|| "samconfig.toml".into());
    let samconfig = SamConfig::parse(&read(&samconfig_path)?, name)
        .map_err(|e| format!("{}: {e}", samconfig_path.display()))?;
    let release = Release {
        name,
        env,
        env_path,
        template,
        samconfig: &samconfig,
    };
    let (report, parameters) = release.check();
    if report.is_ready() {
        if let Some(path) = &options.write_overrides {
            write_overrides(path, &parameters)?;
        }
    }
    Ok(report)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("preflight-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn options(env_file: Option<PathBuf>) -> Options {
        Options {
            env_file,
            template: Some(root().join("template.yaml")),
            samconfig: Some(root().join("samconfig.toml")),
            ..Options::default()
        }
    }

    #[test]
    fn an_input_file_is_required_and_options_parse_by_name() {
        assert!(Options::try_parse_from(["preflight"]).is_err());
        let parsed = Options::try_parse_from(["preflight", "env.dev", "--config-env", "prod"]);
        assert_eq!(parsed.unwrap().config_env.as_deref(), Some("prod"));
    }

    #[test]
    fn a_file_naming_no_environment_or_an_unknown_one_is_a_usage_error() {
        let file = scratch("nameless.env");
        std::fs::write(&file, "POLO_ENVIRONMENT=sandbox\n").unwrap();

        let nameless = run(&options(Some(file.clone()))).unwrap_err();
        let unknown = run(&Options {
            config_env: Some("qa".to_owned()),
            ..options(Some(file))
        })
        .unwrap_err();

        assert_eq!(
            nameless,
            "which environment? pass --config-env or set STAGE in the file"
        );
        assert!(
            unknown.starts_with("`qa` is not a release environment (one of dev, staging, prod;")
        );
    }

    #[test]
    fn an_unreadable_input_names_its_path() {
        let missing = scratch("absent.env");

        let err = run(&options(Some(missing.clone()))).unwrap_err();

        assert!(
            err.starts_with(&format!("cannot read {}: ", missing.display())),
            "{err}"
        );
    }

    #[test]
    fn the_overrides_are_written_as_json_in_a_directory_made_for_them() {
        let path = scratch("nested/overrides.json");
        let parameters = BTreeMap::from([("Stage".to_owned(), "dev".to_owned())]);

        write_overrides(&path, &parameters).unwrap();

        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"Stage\": \"dev\"\n}\n"
        );
    }
}
