#![no_main]
//! Fuzz target: `billing_fuzz::checks::migration_rows` (scripts/fuzz.sh migration_rows SECONDS).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = billing_fuzz::checks::migration_rows(data);
});
