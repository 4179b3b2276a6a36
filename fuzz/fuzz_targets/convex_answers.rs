#![no_main]
//! Fuzz target: `billing_fuzz::checks::convex_answers` (scripts/fuzz.sh convex_answers SECONDS).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = billing_fuzz::checks::convex_answers(data);
});
