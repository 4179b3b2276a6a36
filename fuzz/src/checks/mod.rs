//! What the fuzz targets assert (`fuzz/fuzz_targets/*.rs`, run by
//! `scripts/fuzz.sh`), and what the stable replay of their corpora and
//! regressions asserts in the normal test command
//! (`admin/tests/fuzz_replay.rs`, which includes this module). Not only "no
//! panic": each target checks what its input may and may not change, and
//! that no error or answer quotes the input.

pub mod convex;
pub mod dashboard;
pub mod migration;
pub mod webhook;

pub use convex::convex_answers;
pub use dashboard::dashboard;
pub use migration::migration_rows;
pub use webhook::{intake, parser, verifier};

/// The only secret the targets know (a test value, valid nowhere).
pub const SECRET: &str = "whsec_ZnV6ei10YXJnZXQtd2ViaG9vay1zZWNyZXQ=";
/// The clock every target runs at (2026-11-24T22:00:00Z).
pub const NOW: i64 = 1_795_557_600;

/// The longest run of visible ASCII in `data`, when it is long enough that
/// finding it in an error message means the message quotes the input.
fn distinctive(data: &[u8]) -> Option<String> {
    data.split(|b| !(0x21..=0x7e).contains(b))
        .max_by_key(|run| run.len())
        .filter(|run| run.len() >= 24)
        .map(|run| String::from_utf8_lossy(run).into_owned())
}

/// Panics when `message` quotes a distinctive run of `data`.
pub fn assert_not_quoted(message: &str, data: &[u8]) {
    if let Some(run) = distinctive(data) {
        assert!(
            !message.contains(&run),
            "an error quotes the input: {message}"
        );
    }
}

thread_local! {
    /// One current-thread runtime per fuzzing thread: building one per
    /// input cost more than the intake it ran.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
}

/// Runs `future` to completion (targets are synchronous).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}
