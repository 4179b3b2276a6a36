//! Captures the production JSON log format during a test, so tests can
//! assert on log lines — and on what must never be in them (secrets). When
//! `TEST_LOG_DIR` is set (the project's test command sets it), every captured
//! line is also appended there, for the whole-run secret scan.

use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
            .collect()
    }
}

pub struct CapturedWriter(Captured);

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 .0.lock().unwrap().extend_from_slice(buf);
        if let Ok(dir) = std::env::var("TEST_LOG_DIR") {
            let exe = std::env::current_exe().ok();
            let name = exe
                .as_deref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "test".to_owned());
            let path = std::path::Path::new(&dir).join(format!("{name}.jsonl"));
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a capturing subscriber for the current thread (use with the
/// default current-thread `#[tokio::test]`); logs at trace level so the scan
/// sees everything the code could ever print.
pub fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        billing::telemetry::json_subscriber(move || CapturedWriter(writer.clone()), "trace");
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

/// The secret values the whole suite uses (tests/fixtures/test-secrets.txt).
pub fn test_secrets() -> Vec<&'static str> {
    include_str!("../../../tests/fixtures/test-secrets.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Panics naming the first secret found in `text`.
pub fn assert_no_secret(text: &str) {
    for secret in test_secrets() {
        assert!(!text.contains(secret), "a secret value leaked into: {text}");
    }
}
