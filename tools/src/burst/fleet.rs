//! K processes of each webhook binary, as Lambda runs K concurrent
//! execution environments of one function: all K poll the same Runtime API
//! emulator, so an invocation goes to whichever environment is free, and
//! none is handed a second event while busy. Each process's stdout (JSON
//! logs and EMF lines) goes to its own file, read afterwards for re-reads.

use crate::runtime_api::RuntimeApi;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

/// The webhook functions a burst delivers to.
pub const FUNCTIONS: [&str; 5] = [
    "webhook-subscription-created",
    "webhook-subscription-updated",
    "webhook-subscription-canceled",
    "webhook-payment-failed",
    "webhook-payment-succeeded",
];

pub struct Fleet {
    /// One emulator per function, shared by its K processes.
    pub apis: BTreeMap<&'static str, Arc<RuntimeApi>>,
    children: Vec<tokio::process::Child>,
    logs: Vec<PathBuf>,
}

impl Fleet {
    /// Starts `k` processes of each of [`FUNCTIONS`], the binary for
    /// `name` at `binary(name)`, with `env`; waits until every function
    /// polls for work and then a moment more for the rest to finish init
    /// (cold starts are not the burst's figure).
    pub async fn start(
        binary: impl Fn(&str) -> PathBuf,
        k: usize,
        env: &[(String, String)],
        log_dir: &Path,
    ) -> Result<Self, String> {
        Self::start_functions(&FUNCTIONS, binary, k, env, log_dir).await
    }

    /// One process of function `name`, the binary at `binary`.
    pub async fn start_one(
        binary: &Path,
        name: &'static str,
        env: &[(String, String)],
        log_dir: &Path,
    ) -> Result<Self, String> {
        Self::start_functions(&[name], |_| binary.to_path_buf(), 1, env, log_dir).await
    }

    async fn start_functions(
        names: &[&'static str],
        binary: impl Fn(&str) -> PathBuf,
        k: usize,
        env: &[(String, String)],
        log_dir: &Path,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
        let mut apis = BTreeMap::new();
        let mut children = Vec::new();
        let mut logs = Vec::new();
        for &name in names {
            let api = Arc::new(RuntimeApi::start().await.map_err(|e| e.to_string())?);
            for copy in 0..k {
                let log = log_dir.join(format!("{name}-{copy}.jsonl"));
                let stdout =
                    std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
                let child = api
                    .function(binary(name), name)
                    .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .stdout(Stdio::from(stdout))
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("{}: {e}", binary(name).display()))?;
                children.push(child);
                logs.push(log);
            }
            apis.insert(name, api);
        }
        let started = std::time::Instant::now();
        while apis.values().any(|api| api.first_poll().is_none()) {
            if let Some(error) = apis.values().find_map(|api| api.init_error()) {
                return Err(format!("a function failed its init: {error}"));
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("a function did not poll for work within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500 + 20 * k as u64)).await;
        Ok(Self {
            apis,
            children,
            logs,
        })
    }

    /// How many times the functions re-read an account after losing a
    /// compare-and-set (the updater logs each), from their logs.
    pub fn re_reads(&self) -> Result<u64, String> {
        let mut total = 0;
        for log in &self.logs {
            let text =
                std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
            total += text
                .lines()
                .filter(|line| line.contains("re-reading"))
                .count() as u64;
        }
        Ok(total)
    }

    /// Stops every process (they are killed on drop too).
    pub async fn stop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill().await;
        }
    }
}
