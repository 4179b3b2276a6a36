//! Every command-line tool behaves like a CLI: `--help`, `-h` and `help`
//! print help to stdout and exit 0, wherever they are on the line (and
//! start nothing: `polo-sandbox --help` used to start a server); a usage
//! error goes to stderr with exit 2. The binaries are run as a person runs
//! them.

use std::process::{Command, Output};

fn run(binary: &str, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .env_remove("POLO_SANDBOX_URL")
        .output()
        .unwrap_or_else(|e| panic!("{binary}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `(program, binary, a line that is a usage error)`.
fn tools() -> [(&'static str, &'static str, &'static [&'static str]); 4] {
    [
        ("local", env!("CARGO_BIN_EXE_local"), &["--bogus"]),
        (
            "polo-sandbox",
            env!("CARGO_BIN_EXE_polo-sandbox"),
            &["advance", "31"],
        ),
        (
            "send-event",
            env!("CARGO_BIN_EXE_send-event"),
            &["not-an-endpoint"],
        ),
        ("preflight", env!("CARGO_BIN_EXE_preflight"), &[]),
    ]
}

#[test]
fn help_in_every_form_prints_to_stdout_and_exits_zero() {
    for (name, binary, _) in tools() {
        for line in [&["--help"][..], &["-h"], &["help"]] {
            let out = run(binary, line);
            let stdout = text(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {line:?}: {}",
                text(&out.stderr)
            );
            assert!(stdout.contains("Usage:"), "{name} {line:?}: {stdout}");
            assert!(
                out.stderr.is_empty(),
                "{name} {line:?}: {}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn help_after_other_arguments_is_still_help_and_starts_nothing() {
    for (name, binary, line) in [
        (
            "local",
            env!("CARGO_BIN_EXE_local"),
            &["--port", "1", "help"][..],
        ),
        (
            "polo-sandbox",
            env!("CARGO_BIN_EXE_polo-sandbox"),
            &["--port", "1", "--help"],
        ),
        (
            "polo-sandbox",
            env!("CARGO_BIN_EXE_polo-sandbox"),
            &["deliver", "help"],
        ),
        (
            "send-event",
            env!("CARGO_BIN_EXE_send-event"),
            &["payment-failed", "help"],
        ),
        (
            "preflight",
            env!("CARGO_BIN_EXE_preflight"),
            &[".env.example", "-h"],
        ),
    ] {
        let out = run(binary, line);
        assert_eq!(out.status.code(), Some(0), "{name} {line:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{name} {line:?}");
    }
}

#[test]
fn a_usage_error_goes_to_stderr_with_exit_two() {
    for (name, binary, line) in tools() {
        let out = run(binary, line);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name} {line:?}: {stderr}");
        assert!(stderr.starts_with("error:"), "{name} {line:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{name} {line:?}");
    }
}

#[test]
fn a_clock_step_without_a_unit_is_refused_and_local_help_says_zero_is_any_port() {
    let out = run(env!("CARGO_BIN_EXE_polo-sandbox"), &["advance", "31"]);
    assert!(text(&out.stderr).contains("31d, 12h, 30m or 90s"));
    let out = run(env!("CARGO_BIN_EXE_local"), &["--help"]);
    assert!(text(&out.stdout).contains("0 = any free port"));
    let out = run(env!("CARGO_BIN_EXE_polo-sandbox"), &["serve", "--help"]);
    assert!(text(&out.stdout).contains("0 = any free port"));
}
