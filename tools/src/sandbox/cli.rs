//! `polo-sandbox`: serve the sandbox, or drive a running one's admin API.

use super::dispatcher::RetrySchedule;
use super::launch::SandboxOptions;
use billing::secrets::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
use url::Url;

pub const USAGE: &str = "\
usage: polo-sandbox [serve] [--port 8080] [--webhook-base http://127.0.0.1:3000 | --no-webhooks]
                    [--products tools/sandbox-products.json] [--retry-first-ms 2000]
       polo-sandbox <command> [--url http://127.0.0.1:8080]    (or POLO_SANDBOX_URL)
commands:
  state | clock | events                  print the sandbox's state, clock, events
  advance <31d|12h|30m|90s>               move the clock; renewals and period ends run
  fail-renewal [--subscription ID] [--count N]   the next renewal's charge fails
  recover <subscription-id>               a past-due subscription pays
  redeliver <event-id> [--fresh-id] [--twice] [--to <endpoint-slug>]
  deliver <event-id>... [--fresh-id] [--twice] [--to <endpoint-slug>]   in this order
  hold | release [--reverse] [--twice]    hold new events back, then send them
  settle [--timeout 30]                   wait until no webhook is in flight
  fault <429|503|hang> [--count N] [--retry-after S]   fault the next N API calls
  faults [--clear]                        list (or clear) armed faults
  enable <endpoint-slug>                  re-enable an endpoint disabled after 10 failures
env: POLO_API_KEY, POLO_WEBHOOK_SECRET (defaults: the documented local ones)";

/// What the command line asks for.
pub enum Command {
    Serve {
        port: u16,
        options: SandboxOptions,
    },
    Admin {
        method: reqwest::Method,
        path: String,
        body: Option<Value>,
    },
}

struct Args {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(raw: &[String]) -> Self {
        let switches = [
            "--fresh-id",
            "--twice",
            "--reverse",
            "--clear",
            "--no-webhooks",
        ];
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let arg = &raw[i];
            if switches.contains(&arg.as_str()) {
                flags.push((arg.clone(), None));
            } else if arg.starts_with("--") {
                flags.push((arg.clone(), raw.get(i + 1).cloned()));
                i += 1;
            } else {
                positional.push(arg.clone());
            }
            i += 1;
        }
        Self { positional, flags }
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.value(name)
            .map(|v| v.parse().map_err(|_| format!("{name} takes a number")))
            .transpose()
    }
}

/// Parses the command line (without the program name).
pub fn parse(raw: &[String]) -> Result<Command, String> {
    let args = Args::parse(raw);
    let command = args.positional.first().map_or("serve", String::as_str);
    let arg = |n: usize, what: &str| {
        args.positional
            .get(n)
            .cloned()
            .ok_or(format!("{command} needs {what}\n\n{USAGE}"))
    };
    let post = |path: String, body: Value| Command::Admin {
        method: reqwest::Method::POST,
        path,
        body: Some(body),
    };
    let get = |path: &str| Command::Admin {
        method: reqwest::Method::GET,
        path: path.to_owned(),
        body: None,
    };
    let delivery = || json!({"fresh_id": args.has("--fresh-id"), "twice": args.has("--twice"), "to": args.value("--to")});
    Ok(match command {
        "serve" => serve(&args)?,
        "state" => get("/admin/state"),
        "clock" => get("/admin/clock"),
        "events" => get("/admin/events"),
        "advance" => post(
            "/admin/clock/advance".into(),
            json!({"by": arg(1, "a duration (31d)")?}),
        ),
        "fail-renewal" => post(
            "/admin/renewals/fail-next".into(),
            json!({"subscription_id": args.value("--subscription"), "count": args.number::<u32>("--count")?}),
        ),
        "recover" => post(
            format!(
                "/admin/subscriptions/{}/recover",
                arg(1, "a subscription id")?
            ),
            json!({}),
        ),
        "redeliver" => post(
            format!("/admin/events/{}/redeliver", arg(1, "an event id")?),
            delivery(),
        ),
        "deliver" => {
            let mut body = delivery();
            body["ids"] = json!(args.positional.get(1..).unwrap_or_default());
            post("/admin/events/deliver".into(), body)
        }
        "hold" => post("/admin/webhooks/hold".into(), json!({})),
        "release" => post(
            "/admin/webhooks/release".into(),
            json!({"reverse": args.has("--reverse"), "twice": args.has("--twice")}),
        ),
        "settle" => post(
            "/admin/webhooks/settle".into(),
            json!({"timeout_seconds": args.number::<u64>("--timeout")?}),
        ),
        "fault" => post(
            "/admin/faults".into(),
            json!({"kind": arg(1, "429, 503 or hang")?, "count": args.number::<usize>("--count")?,
                   "retry_after": args.number::<u64>("--retry-after")?}),
        ),
        "faults" if args.has("--clear") => Command::Admin {
            method: reqwest::Method::DELETE,
            path: "/admin/faults".into(),
            body: None,
        },
        "faults" => get("/admin/faults"),
        "enable" => post(
            format!("/admin/endpoints/{}/enable", arg(1, "an endpoint slug")?),
            json!({}),
        ),
        "help" | "--help" | "-h" => return Err(USAGE.to_owned()),
        other => return Err(format!("unknown command {other}\n\n{USAGE}")),
    })
}

fn serve(args: &Args) -> Result<Command, String> {
    let port = args.number::<u16>("--port")?.unwrap_or(8080);
    let target = if args.has("--no-webhooks") {
        None
    } else {
        let raw = args
            .value("--webhook-base")
            .unwrap_or("http://127.0.0.1:3000");
        Some(Url::parse(raw).map_err(|e| format!("--webhook-base: {e}"))?)
    };
    let mut options = SandboxOptions::local(target);
    if let Ok(key) = std::env::var("POLO_API_KEY") {
        options.api_key = SecretString::new(key);
    }
    if let Ok(secret) = std::env::var("POLO_WEBHOOK_SECRET") {
        options.webhook_secret = SecretString::new(secret);
    }
    if let Some(file) = args.value("--products") {
        options.products_file = PathBuf::from(file);
    }
    if let Some(ms) = args.number::<u64>("--retry-first-ms")? {
        options.retry = RetrySchedule {
            first: std::time::Duration::from_millis(ms),
            ..RetrySchedule::default()
        };
    }
    Ok(Command::Serve { port, options })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn admin_commands_become_their_admin_calls() {
        let Ok(Command::Admin { method, path, body }) =
            parse(&words("deliver e1 e2 --twice --to payment-failed"))
        else {
            panic!("deliver parses");
        };
        assert_eq!(method, reqwest::Method::POST);
        assert_eq!(path, "/admin/events/deliver");
        let body = body.unwrap_or_default();
        assert_eq!(body["ids"], json!(["e1", "e2"]));
        assert_eq!(body["twice"], true);
        assert_eq!(body["to"], "payment-failed");
        let Ok(Command::Admin { path, body, .. }) =
            parse(&words("fault 429 --count 2 --retry-after 1"))
        else {
            panic!("fault parses");
        };
        assert_eq!(path, "/admin/faults");
        assert_eq!(body.unwrap_or_default()["count"], 2);
    }

    #[test]
    fn no_command_serves_and_a_missing_argument_is_named() {
        assert!(matches!(parse(&[]), Ok(Command::Serve { port: 8080, .. })));
        let Err(err) = parse(&words("advance")) else {
            panic!("advance needs a duration");
        };
        assert!(err.starts_with("advance needs a duration"));
        assert!(parse(&words("serve --port many")).is_err());
    }
}
