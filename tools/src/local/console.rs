//! The local server's terminal, for a person: one compact line per request
//! (time, method, route, status, account, outcome, milliseconds), coloured
//! when stdout is a terminal; the state-change lines beside them are
//! [`super::changes`]. The full JSON logs go to a file instead, or to
//! stdout with `--log-format json` (then no request lines are printed).

use serde_json::Value;
use std::io::IsTerminal;
use std::sync::OnceLock;
use time::OffsetDateTime;

/// What the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human line per request; JSON logs to the log file.
    Human,
    /// The functions' JSON logs, as CloudWatch would hold them.
    Json,
}

static HUMAN: OnceLock<bool> = OnceLock::new();

/// Turns the request lines on, coloured when stdout is a terminal (the
/// `local` binary does, in human mode; embedded in tests, nothing prints).
pub fn print_requests() {
    let _ = HUMAN.set(std::io::stdout().is_terminal());
}

/// `Some(colour)` when the human lines are on (the `local` binary in human
/// mode), `None` otherwise (JSON mode, and the stack embedded in tests).
pub fn printing() -> Option<bool> {
    HUMAN.get().copied()
}

/// One request as a person reads it.
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub account: Option<&'a str>,
    pub outcome: Option<String>,
    pub millis: u128,
}

impl RequestLine<'_> {
    pub fn render(&self, at: OffsetDateTime, colour: bool) -> String {
        let status = if colour {
            let code = match self.status {
                200..=299 => "32",
                400..=499 => "33",
                _ => "31",
            };
            format!("\x1b[{code}m{}\x1b[0m", self.status)
        } else {
            self.status.to_string()
        };
        format!(
            "{:02}:{:02}:{:02} {:<4} {:<42} {status} {:<16} {:<22} {} ms",
            at.hour(),
            at.minute(),
            at.second(),
            self.method,
            self.path,
            self.account.unwrap_or("-"),
            self.outcome.as_deref().unwrap_or("-"),
            self.millis
        )
    }

    /// Prints it when the request lines are on.
    pub fn print(&self) {
        if let Some(&colour) = HUMAN.get() {
            println!("{}", self.render(OffsetDateTime::now_utc(), colour));
        }
    }
}

/// What an answer's JSON body says happened: a webhook's `status` (and park
/// reason), a dashboard refusal's `code`, a status read's billing status.
pub fn outcome_of(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    if let Some(status) = text("status") {
        return Some(match text("reason") {
            Some(reason) => format!("{status} ({reason})"),
            None => status,
        });
    }
    text("code")
        .or_else(|| text("error"))
        .or_else(|| text("billingStatus").map(|s| format!("billing {s}")))
        .or_else(|| value.get("ok").map(|ok| format!("ok={ok}")))
}

/// The account a webhook's body is about (its metadata, or the customer's
/// external id), for the request line only.
pub fn webhook_account(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let data = value.get("data")?;
    data.pointer("/metadata/accountId")
        .or_else(|| data.pointer("/customer/external_id"))
        .or_else(|| data.pointer("/subscription/metadata/accountId"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// EMF metric lines appended to the JSON log file in human mode (on the
/// terminal they would bury the request lines).
pub struct EmfToFile(std::sync::Mutex<std::fs::File>);

impl EmfToFile {
    pub fn open(path: &std::path::Path) -> Result<Self, String> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(|f| Self(std::sync::Mutex::new(f)))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

impl billing::telemetry::MetricSink for EmfToFile {
    fn record(
        &self,
        name: &'static str,
        value: f64,
        unit: &'static str,
        dimensions: &[(&'static str, &str)],
    ) {
        use std::io::Write;
        let line = billing::telemetry::metrics::emf_line(
            name,
            value,
            unit,
            dimensions,
            OffsetDateTime::now_utc(),
        );
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(file, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_request_line_names_method_route_status_account_outcome_and_time() {
        let line = RequestLine {
            method: "POST",
            path: "/api/billing/polo/subscription-updated",
            status: 200,
            account: Some("acct_local_1"),
            outcome: outcome_of(br#"{"status":"parked","reason":"unknown_product"}"#),
            millis: 3,
        }
        .render(datetime!(2026-12-02 18:04:05 UTC), false);
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            [
                "18:04:05",
                "POST",
                "/api/billing/polo/subscription-updated",
                "200",
                "acct_local_1",
                "parked",
                "(unknown_product)",
                "3",
                "ms"
            ]
        );
        let coloured = RequestLine {
            method: "GET",
            path: "/api/billing/status",
            status: 502,
            account: None,
            outcome: None,
            millis: 0,
        }
        .render(datetime!(2026-12-02 18:04:05 UTC), true);
        assert!(coloured.contains("\x1b[31m502\x1b[0m"));
    }

    #[test]
    fn outcomes_and_accounts_are_read_from_what_the_functions_answered() {
        assert_eq!(
            outcome_of(br#"{"ok":false,"code":"already_subscribed","message":"..."}"#).as_deref(),
            Some("already_subscribed")
        );
        assert_eq!(
            outcome_of(br#"{"accountId":"a","billingStatus":"past_due"}"#).as_deref(),
            Some("billing past_due")
        );
        assert_eq!(outcome_of(b"not json"), None);
        assert_eq!(
            webhook_account(br#"{"data":{"customer":{"external_id":"acct_9"}}}"#).as_deref(),
            Some("acct_9")
        );
    }
}
