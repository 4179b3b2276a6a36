//! What preflight prints: each problem once, with the functions or sources
//! (file, samconfig, template, a rule) that reported it, and what it checked.

use std::collections::{BTreeMap, BTreeSet};

/// The problems found, each once, with the functions or sources that
/// reported it.
#[derive(Debug, Default)]
pub struct Report {
    pub(crate) heading: String,
    pub(crate) checked: Vec<String>,
    pub(crate) problems: BTreeMap<String, BTreeSet<String>>,
}

impl Report {
    pub(crate) fn new(heading: String) -> Self {
        Self {
            heading,
            ..Self::default()
        }
    }

    /// Records a problem; the same text from several functions is one
    /// problem naming them all, so a shared variable is reported once.
    pub(crate) fn problem(&mut self, text: impl Into<String>, source: &str) {
        let entry = self.problems.entry(text.into()).or_default();
        if !source.is_empty() {
            entry.insert(source.to_owned());
        }
    }

    pub fn is_ready(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn render(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_without_problems_renders_as_ready_after_what_it_checked() {
        let mut report = Report::new("env.dev".to_owned());
        report
            .checked
            .push("SyncConfig: provisioning-sync".to_owned());

        let text = report.render();

        assert!(report.is_ready());
        assert_eq!(
            text,
            "preflight: env.dev\n  checked: SyncConfig: provisioning-sync\nready: no problem found\n"
        );
    }

    #[test]
    fn the_same_problem_from_two_functions_is_listed_once_naming_both() {
        let mut report = Report::new("env.dev".to_owned());

        report.problem("STAGE is missing", "reconcile");
        report.problem("STAGE is missing", "checkout");
        report.problem("line 3 is not KEY=VALUE", "");

        assert!(!report.is_ready());
        assert_eq!(
            report.render(),
            "preflight: env.dev\nrefused: 2 problem(s)\n  - STAGE is missing [checkout, reconcile]\n  - line 3 is not KEY=VALUE\n"
        );
    }
}
