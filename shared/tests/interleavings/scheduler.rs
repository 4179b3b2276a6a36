//! A deterministic scheduler for concurrent operations on one thread.
//!
//! Every port call of an operation first waits at a gate
//! ([`Scheduler::gate`]); the explorer decides, one step at a time, which
//! waiting operation passes its gate next, with which outcome, or whether it
//! crashes there (its future is dropped: a Lambda killed at that await).
//! Between two gates an operation runs uninterrupted, exactly like the real
//! code between two awaits of I/O. The decisions come from a [`Chooser`], so
//! a schedule is a list of small integers: replayable, enumerable (DFS) or
//! drawn at random from a seed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// The port call an operation is about to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    AccountGet,
    AccountCas,
    AccountAck,
    AccountList,
    Push,
}

/// How a gated call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The call reaches the dependency and its answer comes back.
    Ok,
    /// The call fails before reaching the dependency (outage).
    FailBefore,
    /// The call reaches the dependency (and takes effect) but its answer is
    /// lost: a timeout after the fact.
    FailAfter,
}

impl Call {
    /// The outcomes worth exploring at this kind of call.
    pub fn outcomes(self, faults: bool) -> &'static [Outcome] {
        use Outcome::*;
        match (self, faults) {
            (_, false) => &[Ok],
            (Call::Push, true) => &[Ok, FailBefore, FailAfter],
            (Call::AccountCas | Call::AccountAck, true) => &[Ok, FailBefore, FailAfter],
            (Call::AccountGet | Call::AccountList, true) => &[Ok, FailBefore],
        }
    }
}

/// Picks one of `n` options at each decision point.
pub trait Chooser {
    /// `weights[i]` is how likely option `i` is relative to the others
    /// (only a random chooser looks at it).
    fn choose(&mut self, weights: &[u32]) -> usize;
}

/// Relative weights: a call succeeds far more often than it fails, and a
/// crash is rarer still.
fn weight(outcome: Option<Outcome>) -> u32 {
    match outcome {
        Some(Outcome::Ok) => 24,
        Some(_) => 2,
        None => 1,
    }
}

#[derive(Debug, Default)]
struct Gates {
    /// Per operation: the call it waits at (None: running or done).
    waiting: Vec<Option<Call>>,
    /// Per operation: the outcome granted for its next gate.
    granted: Vec<Option<Outcome>>,
}

/// Shared between the explorer and the gated ports of every operation.
#[derive(Debug, Default)]
pub struct Scheduler {
    gates: Mutex<Gates>,
}

impl Scheduler {
    pub fn new(ops: usize) -> Arc<Self> {
        Arc::new(Self {
            gates: Mutex::new(Gates {
                waiting: vec![None; ops],
                granted: vec![None; ops],
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gates> {
        self.gates.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the explorer lets operation `op` make `call`; tells how
    /// the call ends.
    pub fn gate(self: &Arc<Self>, op: usize, call: Call) -> impl Future<Output = Outcome> {
        let me = self.clone();
        std::future::poll_fn(move |_| {
            let mut gates = me.lock();
            match gates.granted[op].take() {
                Some(outcome) => {
                    gates.waiting[op] = None;
                    Poll::Ready(outcome)
                }
                None => {
                    gates.waiting[op] = Some(call);
                    Poll::Pending
                }
            }
        })
    }
}

pub type OpFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// What one run did: the steps taken, as text, for printing a schedule.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    pub steps: Vec<String>,
    pub crashes: usize,
}

/// Runs `ops` to completion (or crash) under the chooser's decisions.
/// `names` label the operations in the trace; `faults` also explores failed
/// calls; `crashes` lets the chooser kill an operation at any gate.
pub fn run(
    scheduler: &Arc<Scheduler>,
    mut ops: Vec<Option<OpFuture<'_>>>,
    names: &[String],
    chooser: &mut dyn Chooser,
    faults: bool,
    crashes: bool,
) -> Trace {
    let mut cx = Context::from_waker(Waker::noop());
    let mut trace = Trace::default();
    // Each operation runs up to its first port call.
    for op in ops.iter_mut() {
        if let Some(fut) = op {
            if fut.as_mut().poll(&mut cx).is_ready() {
                *op = None;
            }
        }
    }
    loop {
        // Options: for each waiting operation, every outcome of its call,
        // then a crash there.
        let mut options: Vec<(usize, Option<Outcome>)> = Vec::new();
        {
            let gates = scheduler.lock();
            for (i, op) in ops.iter().enumerate() {
                if op.is_none() {
                    continue;
                }
                let call = gates.waiting[i].expect("a live operation waits at a gate");
                for outcome in call.outcomes(faults) {
                    options.push((i, Some(*outcome)));
                }
                if crashes {
                    options.push((i, None));
                }
            }
        }
        if options.is_empty() {
            return trace;
        }
        let weights: Vec<u32> = options.iter().map(|(_, o)| weight(*o)).collect();
        let (i, outcome) = options[chooser.choose(&weights)];
        let call = scheduler.lock().waiting[i];
        match outcome {
            None => {
                trace
                    .steps
                    .push(format!("{} crashes before {:?}", names[i], call.unwrap()));
                trace.crashes += 1;
                ops[i] = None;
            }
            Some(outcome) => {
                trace
                    .steps
                    .push(format!("{} {:?} -> {:?}", names[i], call.unwrap(), outcome));
                scheduler.lock().granted[i] = Some(outcome);
                let done = ops[i]
                    .as_mut()
                    .map(|fut| fut.as_mut().poll(&mut cx).is_ready())
                    .unwrap_or(true);
                if done {
                    ops[i] = None;
                }
            }
        }
    }
}

/// Enumerates every schedule, depth first: each run follows a prefix of
/// decisions and takes the first option past it; `advance` moves to the
/// next unexplored branch.
#[derive(Debug, Default)]
pub struct Exhaustive {
    prefix: Vec<usize>,
    taken: Vec<(usize, usize)>,
}

impl Chooser for Exhaustive {
    fn choose(&mut self, weights: &[u32]) -> usize {
        let n = weights.len();
        let depth = self.taken.len();
        let choice = self.prefix.get(depth).copied().unwrap_or(0);
        assert!(
            choice < n,
            "a replayed schedule diverged: not deterministic"
        );
        self.taken.push((choice, n));
        choice
    }
}

impl Exhaustive {
    /// Prepares the next schedule; false once every one has been run.
    pub fn advance(&mut self) -> bool {
        while let Some((choice, n)) = self.taken.pop() {
            if choice + 1 < n {
                self.prefix = self.taken.iter().map(|(c, _)| *c).collect();
                self.prefix.push(choice + 1);
                self.taken.clear();
                return true;
            }
        }
        false
    }

    /// The decisions of the run just finished.
    pub fn decisions(&self) -> Vec<usize> {
        self.taken.iter().map(|(c, _)| *c).collect()
    }
}

/// Random decisions from a seed; crashes are rarer than steps.
pub struct Random {
    rng: fastrand::Rng,
}

impl Random {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
        }
    }
}

impl Chooser for Random {
    fn choose(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut pick = self.rng.u32(..total);
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                return i;
            }
            pick -= w;
        }
        weights.len() - 1
    }
}
