//! One measured run of a function binary behind the Runtime API emulator,
//! and the /proc readings it is measured by.

use std::path::Path;
use std::time::{Duration, Instant};
use tools::runtime_api::{Outcome, RuntimeApi};

pub struct Figures {
    pub init_ms: f64,
    pub first_answer_ms: f64,
    pub warm_p50_ms: f64,
    pub warm_p99_ms: f64,
    pub cpu_per_warm_event_ms: f64,
    /// From the scheduler's nanosecond account instead of 10 ms ticks.
    pub on_cpu_per_warm_event_ms: f64,
    /// The user-space part of it (the rest is the kernel's: syscalls and,
    /// on loopback, the TCP work of both ends).
    pub user_cpu_per_warm_event_ms: f64,
    pub peak_rss_kib: u64,
}

/// (user, system) CPU ms of a process so far.
fn proc_cpu_ms(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat (1-based),
    // i.e. 11 and 12 after the ")" that ends the command name; in ticks of
    // 10 ms.
    let ms = |i: usize| -> f64 {
        fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0) * 1000.0 / 100.0
    };
    (ms(11), ms(12))
}

/// Nanoseconds a process's live threads have spent on a CPU so far: the
/// scheduler's own account (`/proc/<pid>/task/<tid>/schedstat`, first field),
/// exact where `/proc/<pid>/stat` counts 10 ms ticks.
fn on_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Whether an answer is the right one: a failing function is never timed
/// as a fast one.
pub type Check<'a> = &'a (dyn Fn(&Outcome) -> Result<(), String> + Sync);

/// Any answer with status 200 (the trivial baseline, the floor and the
/// webhook function of the single-function mode).
pub fn answered_200(outcome: &Outcome) -> Result<(), String> {
    match outcome {
        Outcome::Response(r) if r["statusCode"] == 200 => Ok(()),
        other => Err(format!("not a 200: {other:?}")),
    }
}

pub async fn measure(
    binary: &Path,
    env: &[(String, String)],
    events: &[String],
    profile: bool,
    check: Check<'_>,
    timeout: Duration,
) -> Result<Figures, String> {
    let api = RuntimeApi::start().await.expect("the emulator starts");
    let spawned = Instant::now();
    // COLDSTART_WRAP runs the function under a profiler (e.g. `valgrind
    // --tool=callgrind`), split on spaces; the baseline is never wrapped.
    let wrap = std::env::var("COLDSTART_WRAP").unwrap_or_default();
    let mut command = match wrap.split_whitespace().collect::<Vec<_>>().split_first() {
        Some((program, args)) if profile => {
            let mut command = tokio::process::Command::new(program);
            command.args(args).arg(binary);
            command
        }
        _ => tokio::process::Command::new(binary),
    };
    let mut child = command
        .env_clear()
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", api.runtime_api_env())
        .env("AWS_LAMBDA_FUNCTION_NAME", "coldstart")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let pid = child.id().expect("a pid");
    let first = api
        .invoke(&events[0], timeout)
        .await
        .map_err(|e| format!("{}: no first answer: {e}", binary.display()))?;
    let first_answer = spawned.elapsed();
    check(&first).map_err(|e| format!("{}: first answer: {e}", binary.display()))?;
    let init = api.first_poll().ok_or("it never polled")? - spawned;
    let cpu_before = proc_cpu_ms(pid);
    let on_cpu_before = on_cpu_ns(pid);
    let mut warm = Vec::new();
    for event in &events[1..] {
        let started = Instant::now();
        let outcome = api
            .invoke(event, timeout)
            .await
            .map_err(|e| format!("{}: no answer: {e}", binary.display()))?;
        warm.push(started.elapsed().as_secs_f64() * 1000.0);
        check(&outcome).map_err(|e| format!("{}: {e}", binary.display()))?;
    }
    let cpu_after = proc_cpu_ms(pid);
    let on_cpu = on_cpu_ns(pid).saturating_sub(on_cpu_before);
    let user = cpu_after.0 - cpu_before.0;
    let cpu = user + cpu_after.1 - cpu_before.1;
    let rss = peak_rss_kib(pid);
    if wrap.is_empty() {
        let _ = child.kill().await;
    } else {
        // A profiler writes its results when its process ends normally or
        // on SIGTERM, never on the SIGKILL of `kill()`.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    }
    warm.sort_by(f64::total_cmp);
    Ok(Figures {
        init_ms: init.as_secs_f64() * 1000.0,
        first_answer_ms: first_answer.as_secs_f64() * 1000.0,
        warm_p50_ms: percentile(&warm, 0.5),
        warm_p99_ms: percentile(&warm, 0.99),
        cpu_per_warm_event_ms: cpu / warm.len() as f64,
        on_cpu_per_warm_event_ms: on_cpu as f64 / 1e6 / warm.len() as f64,
        user_cpu_per_warm_event_ms: user / warm.len() as f64,
        peak_rss_kib: rss,
    })
}
