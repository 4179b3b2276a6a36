//! The four jobs of issue 18, each in a fresh world of N accounts: seeded,
//! run as production runs it, then checked (every account that needed work
//! got it exactly once) before its figures count.

use super::counting::per_dependency;
use super::run::{self, Run, Scheduled};
use super::seed;
use super::world::{BoxError, Options, World};
use billing::domain::AccountId;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Job {
    ProvisioningSync,
    Reconcile,
    WebhookRetry,
    MigratePaypal,
}

impl Job {
    pub const ALL: [Job; 4] = [
        Job::ProvisioningSync,
        Job::Reconcile,
        Job::WebhookRetry,
        Job::MigratePaypal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::ProvisioningSync => "provisioning-sync",
            Job::Reconcile => "admin reconcile --all",
            Job::WebhookRetry => "webhook-retry",
            Job::MigratePaypal => "admin migrate-paypal",
        }
    }

    /// The job's short name (`--jobs`).
    pub fn short(self) -> &'static str {
        match self {
            Job::ProvisioningSync => "provisioning-sync",
            Job::Reconcile => "reconcile",
            Job::WebhookRetry => "webhook-retry",
            Job::MigratePaypal => "migrate-paypal",
        }
    }

    pub fn parse(raw: &str) -> Option<Job> {
        Job::ALL
            .into_iter()
            .find(|j| j.name() == raw || j.short() == raw)
    }
}

/// Where the binaries are and how each run is set up.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Holds provisioning-sync, webhook-retry and admin.
    pub bin_dir: PathBuf,
    pub world: Options,
    /// The Lambda timeout of each scheduled invocation (template.yaml: 55 s).
    pub timeout: Duration,
    pub log_dir: PathBuf,
}

/// One job at one N: its run, the work it had, the calls it made.
#[derive(Debug, Clone)]
pub struct Measured {
    pub job: Job,
    pub n: usize,
    /// Accounts (or records, or rows) that needed work.
    pub work: usize,
    pub run: Run,
    /// Calls by (dependency, operation).
    pub calls: BTreeMap<(String, String), u64>,
}

impl Measured {
    pub fn per_account(&self) -> BTreeMap<String, f64> {
        per_dependency(&self.calls)
            .into_iter()
            .map(|(dep, n)| (dep, n as f64 / self.n as f64))
            .collect()
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), BoxError> {
    if ok {
        Ok(())
    } else {
        Err(what().into())
    }
}

pub async fn measure(job: Job, n: usize, setup: &Setup) -> Result<Measured, BoxError> {
    let mut options = setup.world.clone();
    if job != Job::WebhookRetry {
        options.moto = None;
    }
    let world = World::start(&options).await?;
    let now = OffsetDateTime::now_utc();
    let scheduled = |name: &'static str| Scheduled {
        binary: setup.bin_dir.join(name),
        name,
        memory_mb: 512,
        timeout: setup.timeout,
        env: world.env(),
        log_dir: setup.log_dir.clone(),
        max_invocations: 10_000,
        counter: Some(world.counter.clone()),
    };
    let (work, run) = match job {
        Job::ProvisioningSync => {
            let waiting = seed::unacknowledged(&world, n, now)?;
            world.counter.take();
            // Done when a run reached every account and pushed them all;
            // one cut short by its deadline leaves the rest to the next.
            let run = scheduled("provisioning-sync")
                .run(|a| a["outOfTime"] == false && a["notPushed"] == 0)
                .await?;
            // A push whose answer came after the deadline is sent again by
            // the next run (same version: the orchestrator ignores it), so
            // every waiting account is pushed at least once, and each
            // distinct account pushed is one that waited.
            let pushes = world.orchestrator.pushes();
            let pushed: std::collections::BTreeSet<_> =
                pushes.iter().map(|p| p.account_id.clone()).collect();
            check(pushed.len() == waiting, || {
                format!(
                    "{} accounts pushed of {waiting} waiting; answers {:?}",
                    pushed.len(),
                    run.answers
                )
            })?;
            check(world.accounts.all().iter().all(|a| !a.needs_push()), || {
                "an account still needs a push".into()
            })?;
            (waiting, run)
        }
        Job::Reconcile => {
            let drifted = seed::subscribers(&world, n, now)?;
            world.counter.take();
            let run = run::admin(
                &setup.bin_dir.join("admin"),
                &world.env(),
                &["reconcile", "--all"],
                &setup.log_dir,
            )
            .await?;
            let answer = &run.answers[0];
            check(
                answer["accounts"] == n && answer["changed"] == drifted,
                || format!("reconcile answered {answer} for {n} accounts, {drifted} drifted"),
            )?;
            check(world.orchestrator.pushes().len() == drifted, || {
                format!(
                    "{} pushes for {drifted} drifted",
                    world.orchestrator.pushes().len()
                )
            })?;
            (drifted, run)
        }
        Job::WebhookRetry => {
            let pending = seed::pending(&world, n, now).await?;
            let run = scheduled("webhook-retry")
                .run(|a| a["backlog"] == 0)
                .await?;
            let applied: u64 = run
                .answers
                .iter()
                .map(|a| a["applied"].as_u64().unwrap_or(0))
                .sum();
            check(applied == pending as u64, || {
                format!("{applied} applied of {pending} pending")
            })?;
            let entitled = (0..n)
                .filter(|i| seed::is_tenth(*i))
                .filter_map(|i| AccountId::parse(&seed::account_id(i)).ok())
                .filter_map(|id| world.accounts.account(&id))
                .filter(|a| a.desired_entitlement.entitled && !a.needs_push())
                .count();
            check(entitled == pending, || {
                format!("{entitled} of {pending} accounts entitled and acknowledged")
            })?;
            check(world.orchestrator.pushes().len() == pending, || {
                format!(
                    "{} pushes for {pending} records",
                    world.orchestrator.pushes().len()
                )
            })?;
            (pending, run)
        }
        Job::MigratePaypal => {
            let export = setup.log_dir.join(format!("scale-export-{n}.csv"));
            let rows = seed::paypal_export(&world, n, now, &export)?;
            let report = setup.log_dir.join(format!("scale-report-{n}.csv"));
            let journal = setup
                .log_dir
                .join(format!("scale-export-{n}.journal.jsonl"));
            let _ = std::fs::remove_file(&journal);
            world.counter.take();
            let run = run::admin(
                &setup.bin_dir.join("admin"),
                &world.env(),
                &[
                    "migrate-paypal",
                    &export.display().to_string(),
                    "--report",
                    &report.display().to_string(),
                    "--journal",
                    &journal.display().to_string(),
                ],
                &setup.log_dir,
            )
            .await?;
            let answer = &run.answers[0];
            check(
                answer["rows"] == rows && answer["outcomes"]["migrated"] == rows,
                || format!("migrate answered {answer} for {rows} rows"),
            )?;
            let customers = world.sandbox.with_state(|state, _| state.customers.len());
            check(customers == rows, || {
                format!("{customers} Polo customers for {rows} rows")
            })?;
            (rows, run)
        }
    };
    Ok(Measured {
        job,
        n,
        work,
        run,
        calls: world.counter.take(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_parses_from_its_short_and_its_full_name_and_nothing_else() {
        for job in Job::ALL {
            assert_eq!(Job::parse(job.short()), Some(job));
            assert_eq!(Job::parse(job.name()), Some(job));
        }
        assert_eq!(Job::parse("--all"), None);
    }
}
