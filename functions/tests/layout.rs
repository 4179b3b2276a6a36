//! Every Lambda binary has exactly one function in template.yaml and one
//! sample event in events/, and nothing in either is left without a binary.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn binaries() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(root().join("functions/Cargo.toml")).unwrap();
    let names: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .map(str::to_owned)
        .filter(|n| n != "functions")
        .collect();
    let set: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(set.len(), names.len(), "a binary is declared twice");
    set
}

#[test]
fn every_binary_has_exactly_one_template_function() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let declared: Vec<String> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Binary: "))
        .map(|b| b.trim().to_owned())
        .collect();
    let unique: BTreeSet<String> = declared.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        declared.len(),
        "a binary has two functions: {declared:?}"
    );
    assert_eq!(unique, binaries());
}

#[test]
fn every_binary_has_exactly_one_sample_event() {
    let events: BTreeSet<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .filter(|n| n != "env")
        .collect();
    assert_eq!(events, binaries());
}
