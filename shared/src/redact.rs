//! What an error or a log line may say about outside input (a webhook
//! body, a dashboard request, a peer's answer): its structure — field names
//! of the shape ours have — never its values or odd keys. The fuzz targets
//! assert that no error quotes its input (fuzz/src/checks/).

/// A field name, as opposed to an arbitrary key: structure, safe to name.
pub fn is_field_name(raw: &str) -> bool {
    let mut chars = raw.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && raw.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The field path up to the first segment that is not a field name of the
/// shape ours have (`name`, `name[3]`): a caller's odd key is never echoed.
pub fn safe_path(path: &str) -> Option<String> {
    let mut kept = Vec::new();
    for segment in path.split('.') {
        let name = segment.split('[').next().unwrap_or_default();
        let indexes_ok = segment[name.len()..].split_terminator(']').all(|i| {
            i.strip_prefix('[')
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        });
        if !is_field_name(name) || !indexes_ok {
            break;
        }
        kept.push(segment);
    }
    (!kept.is_empty()).then(|| kept.join("."))
}
