//! `polo-sandbox`: serve the sandbox, or drive a running one's admin API.

use super::dispatcher::RetrySchedule;
use super::launch::SandboxOptions;
use billing::secrets::SecretString;
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;
use url::Url;

/// `polo-sandbox`: the sandbox on its own, or a client of a running one.
#[derive(Debug, Parser)]
#[command(
    name = "polo-sandbox",
    about = "The Polo sandbox: serve it (the default), or drive a running one's admin API.",
    after_help = "Environment: POLO_API_KEY, POLO_WEBHOOK_SECRET (serve; defaults: the documented local ones), POLO_SANDBOX_URL (the commands).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    /// `serve`'s options, also accepted without the word `serve`.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port to listen on (127.0.0.1); 0 = any free port.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Where webhooks go (the local stack's gateway).
    #[arg(
        long,
        default_value = "http://127.0.0.1:3000",
        conflicts_with = "no_webhooks"
    )]
    webhook_base: Url,
    /// Send no webhooks at all.
    #[arg(long)]
    no_webhooks: bool,
    /// The products file.
    #[arg(long)]
    products: Option<PathBuf>,
    /// First retry delay of a failed delivery, in milliseconds.
    #[arg(long)]
    retry_first_ms: Option<u64>,
}

#[derive(Debug, Args)]
struct Target {
    /// The running sandbox.
    #[arg(
        long,
        env = "POLO_SANDBOX_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
}

#[derive(Debug, Args)]
struct Delivery {
    /// Send under a new webhook id (not a redelivery Polo would make).
    #[arg(long)]
    fresh_id: bool,
    /// Send each one twice.
    #[arg(long)]
    twice: bool,
    /// Send to this endpoint instead (an endpoint slug, e.g. payment-failed).
    #[arg(long)]
    to: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Serve the sandbox (the default when no command is given).
    Serve(ServeArgs),
    /// Print the sandbox's state.
    State(Target),
    /// Print the sandbox's clock.
    Clock(Target),
    /// Print every event and its deliveries.
    Events(Target),
    /// Move the clock (renewals and period ends run): 31d, 12h, 30m, 90s.
    Advance {
        #[arg(value_parser = span)]
        by: String,
        #[command(flatten)]
        target: Target,
    },
    /// The next renewal's charge fails.
    FailRenewal {
        #[arg(long)]
        subscription: Option<String>,
        #[arg(long)]
        count: Option<u32>,
        #[command(flatten)]
        target: Target,
    },
    /// A past-due subscription pays.
    Recover {
        subscription_id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Send one past event again, and print its delivery.
    Redeliver {
        event_id: String,
        #[command(flatten)]
        delivery: Delivery,
        #[command(flatten)]
        target: Target,
    },
    /// Send past events in exactly this order, and print their deliveries.
    Deliver {
        #[arg(required = true)]
        event_ids: Vec<String>,
        #[command(flatten)]
        delivery: Delivery,
        #[command(flatten)]
        target: Target,
    },
    /// Hold new events back (then `release` them).
    Hold(Target),
    /// Send the held events.
    Release {
        #[arg(long)]
        reverse: bool,
        #[arg(long)]
        twice: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Wait until no webhook is in flight.
    Settle {
        /// Seconds to wait at most.
        #[arg(long)]
        timeout: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// Fault the next N API calls.
    Fault {
        #[arg(value_parser = ["429", "503", "hang"])]
        kind: String,
        #[arg(long)]
        count: Option<usize>,
        #[arg(long)]
        retry_after: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// List (or clear) the armed faults.
    Faults {
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Re-enable an endpoint disabled after 10 failures.
    Enable {
        endpoint: String,
        #[command(flatten)]
        target: Target,
    },
}

/// A clock step with its unit: `31` alone is refused, not read as seconds.
fn span(raw: &str) -> Result<String, String> {
    billing::config::parse_duration(raw)
        .map(|_| raw.to_owned())
        .ok_or_else(|| "give a number and a unit: 31d, 12h, 30m or 90s".to_owned())
}

/// What the command line asks for.
pub enum Command {
    Serve {
        port: u16,
        options: SandboxOptions,
    },
    Admin {
        base: String,
        method: reqwest::Method,
        path: String,
        body: Option<Value>,
        /// Event ids whose deliveries to print once they settled.
        report: Vec<String>,
    },
}

/// Parses the command line (without the program name). Help and usage
/// errors come back as clap's error: `exit()` prints help to stdout (0) or
/// the usage error to stderr (2).
pub fn parse(raw: &[String]) -> Result<Command, clap::Error> {
    let raw = billing::cli_args::help_word_as_flag(raw, true);
    let cli = Cli::try_parse_from(std::iter::once("polo-sandbox".to_owned()).chain(raw))?;
    let admin = |target: Target, method: reqwest::Method, path: String, body: Option<Value>| {
        Command::Admin {
            base: target.url,
            method,
            path,
            body,
            report: Vec::new(),
        }
    };
    let post = |target: Target, path: String, body: Value| {
        admin(target, reqwest::Method::POST, path, Some(body))
    };
    let get =
        |target: Target, path: &str| admin(target, reqwest::Method::GET, path.to_owned(), None);
    let delivery = |d: &Delivery| json!({"fresh_id": d.fresh_id, "twice": d.twice, "to": d.to});
    Ok(match cli.command {
        None => serve(cli.serve),
        Some(Sub::Serve(args)) => serve(args),
        Some(Sub::State(t)) => get(t, "/admin/state"),
        Some(Sub::Clock(t)) => get(t, "/admin/clock"),
        Some(Sub::Events(t)) => get(t, "/admin/events"),
        Some(Sub::Advance { by, target }) => {
            post(target, "/admin/clock/advance".into(), json!({ "by": by }))
        }
        Some(Sub::FailRenewal {
            subscription,
            count,
            target,
        }) => post(
            target,
            "/admin/renewals/fail-next".into(),
            json!({"subscription_id": subscription, "count": count}),
        ),
        Some(Sub::Recover {
            subscription_id,
            target,
        }) => post(
            target,
            format!("/admin/subscriptions/{subscription_id}/recover"),
            json!({}),
        ),
        Some(Sub::Redeliver {
            event_id,
            delivery: d,
            target,
        }) => {
            let mut command = post(
                target,
                format!("/admin/events/{event_id}/redeliver"),
                delivery(&d),
            );
            if let Command::Admin { report, .. } = &mut command {
                report.push(event_id);
            }
            command
        }
        Some(Sub::Deliver {
            event_ids,
            delivery: d,
            target,
        }) => {
            let mut body = delivery(&d);
            body["ids"] = json!(event_ids);
            let mut command = post(target, "/admin/events/deliver".into(), body);
            if let Command::Admin { report, .. } = &mut command {
                *report = event_ids;
            }
            command
        }
        Some(Sub::Hold(t)) => post(t, "/admin/webhooks/hold".into(), json!({})),
        Some(Sub::Release {
            reverse,
            twice,
            target,
        }) => post(
            target,
            "/admin/webhooks/release".into(),
            json!({"reverse": reverse, "twice": twice}),
        ),
        Some(Sub::Settle { timeout, target }) => post(
            target,
            "/admin/webhooks/settle".into(),
            json!({ "timeout_seconds": timeout }),
        ),
        Some(Sub::Fault {
            kind,
            count,
            retry_after,
            target,
        }) => post(
            target,
            "/admin/faults".into(),
            json!({"kind": kind, "count": count, "retry_after": retry_after}),
        ),
        Some(Sub::Faults {
            clear: true,
            target,
        }) => admin(
            target,
            reqwest::Method::DELETE,
            "/admin/faults".into(),
            None,
        ),
        Some(Sub::Faults { target, .. }) => get(target, "/admin/faults"),
        Some(Sub::Enable { endpoint, target }) => post(
            target,
            format!("/admin/endpoints/{endpoint}/enable"),
            json!({}),
        ),
    })
}

fn serve(args: ServeArgs) -> Command {
    let target = (!args.no_webhooks).then_some(args.webhook_base);
    let mut options = SandboxOptions::local(target);
    if let Ok(key) = std::env::var("POLO_API_KEY") {
        options.api_key = SecretString::new(key);
    }
    if let Ok(secret) = std::env::var("POLO_WEBHOOK_SECRET") {
        options.webhook_secret = SecretString::new(secret);
    }
    if let Some(file) = args.products {
        options.products_file = file;
    }
    if let Some(ms) = args.retry_first_ms {
        options.retry = RetrySchedule {
            first: std::time::Duration::from_millis(ms),
            ..RetrySchedule::default()
        };
    }
    Command::Serve {
        port: args.port,
        options,
    }
}

/// Sends one admin call and returns the pretty-printed answer.
pub async fn admin(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<String, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut request = reqwest::Client::new().request(method, &url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.map_err(|e| {
        format!("{url}: {e} (is the sandbox running? `cargo run -p tools --bin local`)")
    })?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    let pretty = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(text);
    if status.is_success() {
        Ok(pretty)
    } else {
        Err(format!("{status}\n{pretty}"))
    }
}

/// Once the deliveries just asked for settled: one line per event with its
/// newest attempt's answer (`<event> <type> -> <endpoint>: HTTP 200`).
pub async fn report_deliveries(base: &str, ids: &[String]) -> Result<Vec<String>, String> {
    admin(
        base,
        reqwest::Method::POST,
        "/admin/webhooks/settle",
        Some(json!({"timeout_seconds": 30})),
    )
    .await?;
    let events: Value =
        serde_json::from_str(&admin(base, reqwest::Method::GET, "/admin/events", None).await?)
            .map_err(|e| format!("the sandbox's events are not JSON: {e}"))?;
    Ok(ids
        .iter()
        .map(|id| {
            let event = events["events"]
                .as_array()
                .and_then(|all| all.iter().find(|e| e["id"] == id.as_str()));
            let Some(event) = event else {
                return format!("{id}: no such event");
            };
            let attempt = event["attempts"].as_array().and_then(|a| a.last());
            let answer = match attempt {
                Some(a) if a["status"].is_u64() => format!("HTTP {}", a["status"]),
                Some(a) => a["error"].as_str().unwrap_or("no answer").to_owned(),
                None => "not sent".to_owned(),
            };
            let endpoint = attempt
                .and_then(|a| a["endpoint"].as_str())
                .unwrap_or_default();
            format!(
                "{id} {} -> {endpoint}: {answer}",
                event["type"].as_str().unwrap_or("?")
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn admin_commands_become_their_admin_calls() {
        let Ok(Command::Admin {
            method,
            path,
            body,
            report,
            ..
        }) = parse(&words("deliver e1 e2 --twice --to payment-failed"))
        else {
            panic!("deliver parses");
        };
        assert_eq!(method, reqwest::Method::POST);
        assert_eq!(path, "/admin/events/deliver");
        let body = body.unwrap_or_default();
        assert_eq!(body["ids"], json!(["e1", "e2"]));
        assert_eq!(body["twice"], true);
        assert_eq!(body["to"], "payment-failed");
        assert_eq!(report, ["e1", "e2"]);
        let Ok(Command::Admin { path, body, .. }) =
            parse(&words("fault 429 --count 2 --retry-after 1"))
        else {
            panic!("fault parses");
        };
        assert_eq!(path, "/admin/faults");
        assert_eq!(body.unwrap_or_default()["count"], 2);
    }

    #[test]
    fn no_command_serves_and_serve_flags_work_without_the_word() {
        assert!(matches!(parse(&[]), Ok(Command::Serve { port: 8080, .. })));
        assert!(matches!(
            parse(&words("--port 9000 --no-webhooks")),
            Ok(Command::Serve { port: 9000, .. })
        ));
        assert!(matches!(
            parse(&words("serve --port 0")),
            Ok(Command::Serve { port: 0, .. })
        ));
    }

    #[test]
    fn usage_errors_are_clap_errors_naming_the_problem() {
        use clap::error::ErrorKind;
        let kind = |line: &str| parse(&words(line)).map(|_| ()).unwrap_err().kind();
        assert_eq!(kind("advance"), ErrorKind::MissingRequiredArgument);
        assert_eq!(kind("advance 31"), ErrorKind::ValueValidation);
        assert_eq!(kind("fault 404"), ErrorKind::InvalidValue);
        assert_eq!(kind("serve --port many"), ErrorKind::ValueValidation);
        assert_eq!(kind("frobnicate"), ErrorKind::InvalidSubcommand);
        let text = parse(&words("advance 31"))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(text.contains("31d, 12h, 30m or 90s"), "{text}");
    }

    #[test]
    fn help_anywhere_on_the_line_is_help() {
        use clap::error::ErrorKind;
        for line in [
            "--help",
            "-h",
            "help",
            "advance --help",
            "help deliver",
            "--port 1 --help",
        ] {
            let err = parse(&words(line)).map(|_| ()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DisplayHelp, "{line}");
        }
    }
}
