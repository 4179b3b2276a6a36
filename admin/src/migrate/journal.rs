//! The migration journal: one JSON line per finished row, written and
//! synced before the next row's outcome counts. A rerun after a crash or
//! Ctrl-C skips every row already in it, so nothing is created twice and
//! the final report lists every row as the first run decided it.

use super::report::ReportLine;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;

pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

/// A journal entry is keyed by line and subscription id: a row that moved
/// or changed in an edited file is not mistaken for a finished one.
pub fn key(line: u64, subscription: &str) -> String {
    format!("{line}:{subscription}")
}

impl Journal {
    /// Opens (or creates) the journal and reads what earlier runs finished.
    pub fn open(path: &Path) -> Result<(Self, HashMap<String, ReportLine>), String> {
        let fail = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut done = HashMap::new();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(fail(e)),
        };
        // Only newline-terminated entries were finished. A tail without its
        // newline was cut by a crash mid-write: that row did not finish and
        // is redone (every step is idempotent), and the tail is cut off so
        // the next entry does not run into it.
        let finished = text.rfind('\n').map_or(0, |at| at + 1);
        for (n, raw) in text[..finished].lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let entry = serde_json::from_str::<ReportLine>(raw)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            done.insert(key(entry.line, &entry.paypal_subscription_id), entry);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        if finished < text.len() {
            file.set_len(finished as u64).map_err(fail)?;
        }
        Ok((
            Self {
                path: path.to_owned(),
                file: Mutex::new(file),
            },
            done,
        ))
    }

    /// Appends one finished row and syncs it to disk.
    pub async fn record(&self, entry: &ReportLine) -> Result<(), String> {
        let mut text = serde_json::to_string(entry).map_err(|e| format!("journal entry: {e}"))?;
        text.push('\n');
        let mut file = self.file.lock().await;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}
