//! Telemetry: JSON logs (one line per event, the current span's fields —
//! request id, function, cold start, Polo event id and type, account id —
//! on every line) and CloudWatch Embedded Metric Format counters.

pub mod metrics;

pub use metrics::{EmfStdout, InMemoryMetrics, MetricSink};

use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::EnvFilter;

static COLD: AtomicBool = AtomicBool::new(true);

/// True for the first invocation of this process, false afterwards.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// Installs the JSON log subscriber on stdout (Lambda ships stdout to
/// CloudWatch). `RUST_LOG` sets the level; default `info`. Calling it twice
/// keeps the first subscriber.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, "info"));
}

/// The same JSON logs appended to a file (the local server's terminal is
/// for a person; its full logs go here).
pub fn init_to_file(path: &std::path::Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let _ = tracing::subscriber::set_global_default(json_subscriber(
        std::sync::Mutex::new(file),
        "info",
    ));
    Ok(())
}

/// The same JSON logs on stderr, for the admin CLI (its stdout is its
/// output, JSON for scripts). Default level `warn`: only what needs a look.
pub fn init_stderr() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stderr, "warn"));
}

/// The production log format, writing to any writer (tests capture it).
pub fn json_subscriber<W>(writer: W, default_level: &str) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Formats an error with its whole `source()` chain, for the log line that
/// explains an opaque 5xx.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
