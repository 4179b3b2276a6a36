//! The ops CLI behaves like a CLI: `--help`, `-h` and `help` print help to
//! stdout and exit 0, wherever they are on the line; a usage error goes to
//! stderr with exit 2. Help never reads the environment or starts work.

use std::process::Command;

fn admin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_admin"))
        .args(args)
        .output()
        .expect("run admin")
}

#[test]
fn help_in_every_form_and_place_prints_to_stdout_and_exits_zero() {
    for line in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["replay", "help"],
        &["inbox", "list", "help"],
        &["inbox", "list", "--help"],
    ] {
        let out = admin(line);
        assert_eq!(out.status.code(), Some(0), "{line:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{line:?}"
        );
        assert!(out.stderr.is_empty(), "{line:?}");
    }
}

#[test]
fn a_usage_error_goes_to_stderr_with_exit_two() {
    for line in [&["bogus"][..], &["reconcile", "--nope"]] {
        let out = admin(line);
        assert_eq!(out.status.code(), Some(2), "{line:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"));
        assert!(out.stdout.is_empty(), "{line:?}");
    }
}
