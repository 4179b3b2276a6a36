//! The scale harness of issue 18: how the scheduled jobs' and the admin
//! CLI's cost grows with the number of accounts. For each job and each N it
//! builds a fresh world of N accounts ([`world`], [`seed`]), runs the job's
//! real binary as production runs it ([`run`]), checks it did all its work
//! exactly once ([`jobs`]), and records wall time, calls per account to
//! each dependency ([`counting`]), peak memory and Lambda invocations;
//! [`fit`] gives each figure's growth exponent across the N values.
//! `tools/src/bin/scale.rs` prints the tables; a small run is a test
//! (`functions/tests/scale_small.rs`, `admin/tests/scale_small.rs`).

pub mod counting;
pub mod fit;
pub mod jobs;
pub mod run;
pub mod seed;
pub mod world;
