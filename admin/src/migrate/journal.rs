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
        let mut done = HashMap::new();
        if path.exists() {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            for (n, raw) in text.lines().enumerate() {
                if raw.trim().is_empty() {
                    continue;
                }
                // A line cut short by a crash mid-write is the row that did
                // not finish: it is redone (every step is idempotent).
                match serde_json::from_str::<ReportLine>(raw) {
                    Ok(entry) => {
                        done.insert(key(entry.line, &entry.paypal_subscription_id), entry);
                    }
                    Err(_) if n + 1 == text.lines().count() => {}
                    Err(e) => return Err(format!("{}:{}: {e}", path.display(), n + 1)),
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
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
