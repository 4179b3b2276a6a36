//! Faults the admin API arms for the next N API calls: 429 with
//! `Retry-After`, 503, or a hang (no answer until the client gives up).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// 429 `TooManyRequests` with `Retry-After: retry_after` seconds.
    RateLimit { retry_after: u64 },
    /// 503 `ServiceUnavailable`.
    Unavailable,
    /// Holds the request for the sandbox's hang time, then 503.
    Hang,
}

impl Fault {
    /// `429`/`rate_limit`, `503`/`unavailable`, `hang`.
    pub fn parse(kind: &str, retry_after: u64) -> Option<Self> {
        match kind {
            "429" | "rate_limit" | "rate-limit" => Some(Self::RateLimit { retry_after }),
            "503" | "unavailable" => Some(Self::Unavailable),
            "hang" => Some(Self::Hang),
            _ => None,
        }
    }
}

/// The armed faults, consumed one per API call, in order.
#[derive(Debug, Default)]
pub struct Faults {
    queue: Mutex<VecDeque<Fault>>,
}

impl Faults {
    pub fn arm(&self, fault: Fault, count: usize) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.extend(std::iter::repeat_n(fault, count));
    }

    pub fn take(&self) -> Option<Fault> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }

    pub fn clear(&self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn pending(&self) -> Vec<Fault> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armed_faults_are_consumed_one_per_call_in_order() {
        let faults = Faults::default();
        faults.arm(Fault::RateLimit { retry_after: 1 }, 2);
        faults.arm(Fault::Unavailable, 1);
        assert_eq!(faults.take(), Some(Fault::RateLimit { retry_after: 1 }));
        assert_eq!(faults.take(), Some(Fault::RateLimit { retry_after: 1 }));
        assert_eq!(faults.take(), Some(Fault::Unavailable));
        assert_eq!(faults.take(), None);
        assert_eq!(
            Fault::parse("429", 3),
            Some(Fault::RateLimit { retry_after: 3 })
        );
        assert_eq!(Fault::parse("teapot", 0), None);
    }
}
