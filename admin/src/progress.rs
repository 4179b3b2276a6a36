//! Progress bars for long runs, drawn on stderr. They are hidden under
//! `--json`: there stdout belongs to scripts, and redrawn bars would only be
//! noise in their logs.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `length` items of `unit` (rows, accounts), or a spinner that
/// counts them when the total is not known up front.
pub fn bar(json: bool, length: Option<u64>, unit: &str) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let (bar, template) = match length {
        Some(length) => (
            ProgressBar::new(length),
            format!("{{bar:40}} {{pos}}/{{len}} {unit} {{msg}}"),
        ),
        None => (
            ProgressBar::new_spinner(),
            format!("{{spinner}} {{pos}} {unit} {{msg}}"),
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
