//! The environment file ops keep per stage: dotenv-style `KEY=VALUE` lines.
//! Its own problems (a line that is not an assignment, a name set twice)
//! never quote a value, since values may be secrets.

use std::collections::BTreeMap;

/// A dotenv-style file: `KEY=VALUE` lines, `#` comments, blank lines, an
/// optional `export ` prefix, values optionally in single or double quotes.
#[derive(Debug, Default)]
pub(crate) struct EnvFile {
    pub(crate) values: BTreeMap<String, String>,
    /// Problems of the file itself (never echoing a value).
    pub(crate) problems: Vec<String>,
}

impl EnvFile {
    pub(crate) fn parse(text: &str) -> Self {
        let mut file = EnvFile::default();
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                file.problems
                    .push(format!("line {number} is not KEY=VALUE"));
                continue;
            };
            let key = key.trim();
            if !is_variable_name(key) {
                file.problems
                    .push(format!("line {number}: the name is not a variable name"));
                continue;
            }
            if let Some(first) = first_line.get(key) {
                file.problems
                    .push(format!("{key} is set twice (lines {first} and {number})"));
                continue;
            }
            first_line.insert(key.to_owned(), number);
            file.values.insert(key.to_owned(), unquote(value.trim()));
        }
        file
    }

    /// `STAGE` as the file sets it, if it does.
    pub(crate) fn stage(&self) -> Option<String> {
        self.values.get("STAGE").map(|s| s.trim().to_owned())
    }
}

fn is_variable_name(key: &str) -> bool {
    key.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Single quotes keep the text as is; double quotes take `\"` and `\\`.
fn unquote(value: &str) -> String {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('\'') {
        value[1..value.len() - 1].to_owned()
    } else if quoted('"') {
        let mut out = String::new();
        let mut chars = value[1..value.len() - 1].chars();
        while let Some(c) = chars.next() {
            match (c, chars.clone().next()) {
                ('\\', Some(next @ ('"' | '\\'))) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push(c),
            }
        }
        out
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_comments_exports_and_quotes_read_as_their_values() {
        let text = "# dev\n\nSTAGE=dev\nexport ALARM_EMAIL=\"oncall@example.com\"\n  NAME = 'a \\\" b'  \nESCAPED=\"say \\\"hi\\\" \\\\ bye\"\nEMPTY=\n";

        let file = EnvFile::parse(text);

        assert!(file.problems.is_empty(), "{:?}", file.problems);
        assert_eq!(file.values["STAGE"], "dev");
        assert_eq!(file.values["ALARM_EMAIL"], "oncall@example.com");
        assert_eq!(file.values["NAME"], "a \\\" b");
        assert_eq!(file.values["ESCAPED"], "say \"hi\" \\ bye");
        assert_eq!(file.values["EMPTY"], "");
        assert_eq!(file.stage().as_deref(), Some("dev"));
    }

    #[test]
    fn a_value_with_an_equals_sign_keeps_everything_after_the_first() {
        let file = EnvFile::parse("JWT_ISSUER=https://auth.example/?a=b\n");

        assert_eq!(file.values["JWT_ISSUER"], "https://auth.example/?a=b");
    }

    #[test]
    fn malformed_lines_and_repeated_names_are_problems_that_never_quote_a_value() {
        let text = "not an assignment whsec_secret\n1BAD=x\nSTAGE=dev\nSTAGE=whsec_prod\n";

        let file = EnvFile::parse(text);

        assert_eq!(
            file.problems,
            [
                "line 1 is not KEY=VALUE",
                "line 2: the name is not a variable name",
                "STAGE is set twice (lines 3 and 4)",
            ]
        );
        assert_eq!(file.values["STAGE"], "dev");
        assert!(!file.problems.iter().any(|p| p.contains("whsec_")));
    }

    #[test]
    fn a_lone_quote_is_kept_as_written() {
        let file = EnvFile::parse("A=\"\nB='\n");

        assert_eq!(file.values["A"], "\"");
        assert_eq!(file.values["B"], "'");
    }
}
