//! Running a job as production would: a scheduled function is its release
//! binary behind the Lambda Runtime API emulator, invoked again and again
//! (each invocation with its Lambda deadline, the process kept warm in
//! between as Lambda keeps it) until a run reports nothing left; the admin
//! CLI is one process to its end. Both measured from outside: wall time,
//! invocations, and the process's peak RSS (`VmHWM`).

use super::world::BoxError;
use crate::runtime_api::{Outcome, RuntimeApi};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What one job's run cost.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub wall: Duration,
    /// Time inside invocations (what Lambda bills), summed.
    pub billed: Duration,
    pub invocations: usize,
    pub peak_rss_kib: u64,
    /// Each invocation's answer (the CLI's JSON summary, once).
    pub answers: Vec<serde_json::Value>,
    /// A scheduled function's next run once nothing is left (what every
    /// run costs in the steady state): its billed time and its calls.
    pub idle: Option<(Duration, Calls)>,
}

pub type Calls = std::collections::BTreeMap<(String, String), u64>;

/// The high-water mark of a live process's resident memory.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn log_to(dir: &Path, name: &str) -> Result<std::fs::File, BoxError> {
    Ok(std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("scale-{name}.jsonl")))?)
}

/// A scheduled function, invoked until `finished` says its answer left
/// nothing behind (at most `max_invocations`).
pub struct Scheduled<'a> {
    pub binary: PathBuf,
    pub name: &'a str,
    pub memory_mb: u32,
    /// Each invocation's Lambda timeout.
    pub timeout: Duration,
    pub env: Vec<(String, String)>,
    pub log_dir: PathBuf,
    pub max_invocations: usize,
    /// Counts the dependencies' calls: when given, the job's calls are
    /// taken once it is done and one more (idle) run is measured apart.
    pub counter: Option<std::sync::Arc<super::counting::Counter>>,
}

impl Scheduled<'_> {
    pub async fn run(
        &self,
        finished: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<Run, BoxError> {
        let api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = api
            .function(&self.binary, self.name)
            .envs(self.env.iter().cloned())
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            )
            .stdout(log_to(&self.log_dir, self.name)?)
            .stderr(log_to(&self.log_dir, self.name)?)
            .spawn()?;
        let pid = child.id().ok_or("the function exited at once")?;
        let event = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../events/{}.json", self.name)),
        )?;
        let mut run = Run::default();
        while run.invocations < self.max_invocations {
            let invoked = Instant::now();
            let outcome = api.invoke(&event, self.timeout).await?;
            run.billed += invoked.elapsed();
            run.invocations += 1;
            let answer = match outcome {
                Outcome::Response(answer) => answer,
                Outcome::Error(error) => {
                    return Err(format!("{} invocation failed: {error}", self.name).into())
                }
            };
            let done = finished(&answer);
            run.answers.push(answer);
            if done {
                break;
            }
        }
        run.wall = started.elapsed();
        if let Some(counter) = &self.counter {
            let job_calls = counter.take();
            let invoked = Instant::now();
            let outcome = api.invoke(&event, self.timeout).await?;
            let billed = invoked.elapsed();
            if let Outcome::Error(error) = outcome {
                return Err(format!("{} idle invocation failed: {error}", self.name).into());
            }
            run.idle = Some((billed, counter.take()));
            // The job's own calls go back for the caller to take.
            for ((dependency, operation), n) in job_calls {
                counter.add_n(&dependency, &operation, n);
            }
        }
        run.peak_rss_kib = peak_rss_kib(pid);
        let _ = child.kill().await;
        Ok(run)
    }
}

/// The admin CLI to its end: `--json` summary on stdout, peak RSS read
/// every 20 ms until it exits (VmHWM only grows, so the last reading is
/// the peak up to a 20 ms tail).
pub async fn admin(
    binary: &Path,
    env: &[(String, String)],
    args: &[&str],
    log_dir: &Path,
) -> Result<Run, BoxError> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().cloned())
        .arg("--json")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(log_to(log_dir, "admin")?)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("admin exited at once")?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text)
            .await
            .map(|_| text)
    });
    let mut peak = 0;
    let status = loop {
        peak = peak.max(peak_rss_kib(pid));
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    };
    let text = reader.await??;
    let answer: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("admin {args:?} ({status}): stdout is not JSON ({e}): {text}"))?;
    Ok(Run {
        wall: started.elapsed(),
        billed: started.elapsed(),
        invocations: 1,
        peak_rss_kib: peak,
        answers: vec![answer],
        idle: None,
    })
}
