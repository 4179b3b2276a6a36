//! One habit shared by the project's command-line tools (the `admin` ops
//! CLI and the dev tools): `help` anywhere on the line is help.

/// `help` as a word anywhere on a command line means `--help` (the CLI habit
/// the project's tools keep), unless it is a flag's value (`--to help`).
/// `keep_first`: a leading `help` stays a word (clap's `help <command>`).
pub fn help_word_as_flag(args: &[String], keep_first: bool) -> Vec<String> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| {
            let after_flag = i > 0 && args[i - 1].starts_with('-');
            let leading = keep_first && i == 0;
            if arg == "help" && !after_flag && !leading {
                "--help".to_owned()
            } else {
                arg.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &str, keep_first: bool) -> String {
        let args: Vec<String> = words.split_whitespace().map(str::to_owned).collect();
        help_word_as_flag(&args, keep_first).join(" ")
    }

    #[test]
    fn help_is_a_flag_anywhere_but_as_a_flags_value_or_a_kept_leading_command() {
        assert_eq!(line("inbox list help", false), "inbox list --help");
        assert_eq!(line("help", false), "--help");
        assert_eq!(line("help deliver", true), "help deliver");
        assert_eq!(line("deliver help", true), "deliver --help");
        assert_eq!(line("send --to help", false), "send --to help");
    }
}
