//! The secret scan (scripts/check-no-secrets.sh, after every test) looks
//! for the values in tests/fixtures/test-secrets.txt. A secret a test or
//! fuzz target signs with but the list lacks would never be looked for, so
//! every `whsec_` literal in the sources must be listed.

use std::path::Path;

fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | "node_modules" | ".git" | ".venv" | "_generated"
            ) {
                sources(&path, found);
            }
        } else if [".rs", ".ts", ".py", ".sh"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            found.push(path);
        }
    }
}

#[test]
fn every_webhook_style_secret_in_the_sources_is_on_the_scan_list() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let listed = std::fs::read_to_string(root.join("tests/fixtures/test-secrets.txt")).unwrap();
    let listed: std::collections::BTreeSet<&str> = listed
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut files = Vec::new();
    for dir in [
        "shared",
        "functions",
        "tools",
        "admin",
        "fuzz",
        "convex",
        "scripts",
        "tests",
    ] {
        sources(&root.join(dir), &mut files);
    }
    let mut missing = Vec::new();
    let mut seen = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (at, _) in text.match_indices("whsec_") {
            // Part of an identifier (`a_whsec_prefix_is_refused`), not a value.
            if text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            let value: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '/' | '='))
                .collect();
            // `whsec_` alone (a prefix in code or prose) is not a value.
            if value.len() < "whsec_".len() + 4 {
                continue;
            }
            seen += 1;
            if !listed.contains(value.as_str()) {
                missing.push(format!("{}: {value}", file.display()));
            }
        }
    }
    assert!(seen > 20, "the walk found the sources ({seen} values)");
    assert!(
        missing.is_empty(),
        "not on the scan list:\n{}",
        missing.join("\n")
    );
}
