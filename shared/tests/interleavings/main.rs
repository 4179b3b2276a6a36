//! The interleaving explorer (issue: credentials that always converge).
//!
//! Runs two and more concurrent `AccountUpdater` operations on one account
//! — webhook snapshots of a whole lifecycle, the reconcile's re-derivation,
//! `provisioning-sync` — over the in-memory ports, with a deterministic
//! scheduler that pauses every port call (account read, compare-and-set,
//! acknowledgement, list, push), lets it succeed, fail before or after it
//! took effect, or kills the operation there. After each schedule one
//! healthy `provisioning-sync` runs, and the invariant must hold: the
//! orchestrator holds the account's desired entitlement, nothing is left to
//! push, and every push carried the desired entitlement of the version it
//! named (so a newer version never carries an older state).
//!
//! Two operations: every schedule (depth-first enumeration). Three to five:
//! seeded random schedules (`EXPLORER_SCHEDULES`, default 100,000).
//! `EXPLORER_SEED` picks another seed range.

mod ports;
mod scheduler;
mod world;

use scheduler::{Chooser, Exhaustive, Random, Scheduler, Trace};
use std::collections::BTreeSet;
use world::{Op, Start, World};

/// Runs one schedule of `ops` from `start`; the invariant's verdict and the
/// trace.
fn run_once(
    start: Start,
    ops: &[Op],
    chooser: &mut dyn Chooser,
    faults: bool,
) -> (Result<(), String>, Trace) {
    let world = World::new(start);
    let scheduler = Scheduler::new(ops.len());
    let names: Vec<String> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| format!("{op:?}#{i}"))
        .collect();
    let futures = ops
        .iter()
        .enumerate()
        .map(|(i, op)| Some(world.op(&scheduler, i, *op)))
        .collect();
    let trace = scheduler::run(&scheduler, futures, &names, chooser, faults, true);
    world.sync();
    (world.check(), trace)
}

#[derive(Debug, Default)]
struct Tally {
    schedules: u64,
    with_crash: u64,
    crash_sites: BTreeSet<String>,
    violations: u64,
    shortest: Option<(String, Trace)>,
    /// The shortest violation with every call succeeding and no crash: a
    /// pure race.
    shortest_race: Option<(String, Trace)>,
}

fn keep_shorter(slot: &mut Option<(String, Trace)>, why: &str, trace: &Trace) {
    if slot
        .as_ref()
        .is_none_or(|(_, t)| trace.steps.len() < t.steps.len())
    {
        *slot = Some((why.to_owned(), trace.clone()));
    }
}

impl Tally {
    fn record(&mut self, label: String, verdict: Result<(), String>, trace: Trace) {
        self.schedules += 1;
        if trace.crashes > 0 {
            self.with_crash += 1;
        }
        for step in &trace.steps {
            if let Some((who, site)) = step.split_once(" crashes before ") {
                let op = who.split('#').next().unwrap_or(who);
                self.crash_sites.insert(format!("{op} before {site}"));
            }
        }
        if let Err(why) = verdict {
            self.violations += 1;
            let why = format!("{label}: {why}");
            keep_shorter(&mut self.shortest, &why, &trace);
            if trace.crashes == 0 && trace.steps.iter().all(|s| s.ends_with("-> Ok")) {
                keep_shorter(&mut self.shortest_race, &why, &trace);
            }
        }
    }

    fn report(&self, what: &str) -> String {
        let mut out = format!(
            "{what}: {} schedules, {} with a crash, {} crash sites, {} violations",
            self.schedules,
            self.with_crash,
            self.crash_sites.len(),
            self.violations
        );
        out.push_str(&format!(
            "\ncrash sites: {}",
            self.crash_sites
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let shortest = [
            ("shortest violating schedule", &self.shortest),
            (
                "shortest violating race (no fault, no crash)",
                &self.shortest_race,
            ),
        ];
        for (title, found) in shortest {
            if let Some((why, trace)) = found {
                out.push_str(&format!("\n{title} ({why}):"));
                for step in &trace.steps {
                    out.push_str(&format!("\n  {step}"));
                }
            }
        }
        out
    }
}

#[test]
fn every_interleaving_of_two_operations_converges_after_one_sync() {
    let mut tally = Tally::default();
    for start in Start::ALL {
        for (i, a) in Op::ALL.iter().enumerate() {
            for b in &Op::ALL[i..] {
                let ops = [*a, *b];
                let mut chooser = Exhaustive::default();
                loop {
                    let (verdict, trace) = run_once(start, &ops, &mut chooser, true);
                    let label = format!("{start:?} {ops:?} {:?}", chooser.decisions());
                    tally.record(label, verdict, trace);
                    if !chooser.advance() {
                        break;
                    }
                }
            }
        }
    }
    let report = tally.report("two operations, exhaustive");
    println!("{report}");
    assert_eq!(tally.violations, 0, "{report}");
    assert!(tally.with_crash > 0 && tally.schedules > tally.with_crash);
}

#[test]
fn random_schedules_of_three_to_five_operations_converge_after_one_sync() {
    let schedules: u64 = std::env::var("EXPLORER_SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let first_seed: u64 = std::env::var("EXPLORER_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut tally = Tally::default();
    for seed in first_seed..first_seed + schedules {
        let mut pick = fastrand::Rng::with_seed(seed ^ 0x5eed);
        let start = Start::ALL[pick.usize(..Start::ALL.len())];
        let ops: Vec<Op> = (0..pick.usize(3..=5))
            .map(|_| Op::ALL[pick.usize(..Op::ALL.len())])
            .collect();
        let mut chooser = Random::new(seed);
        let (verdict, trace) = run_once(start, &ops, &mut chooser, true);
        tally.record(format!("seed {seed} {start:?} {ops:?}"), verdict, trace);
    }
    let report = tally.report("three to five operations, random");
    println!("{report}");
    assert_eq!(tally.violations, 0, "{report}");
    assert!(tally.with_crash > 0 && tally.schedules > tally.with_crash);
}
