//! The ops CLI (`admin --help`). Parses arguments, builds the ports from the
//! environment once, runs one command, and maps its end to an exit code
//! scripts can trust: 0 done, 1 some failed (rerun), 2 usage or
//! configuration, 3 interrupted (rerun to finish).

use admin::cli::{Cli, Command, InboxCommand, ReplayCommand};
use admin::commands::{self, Ended};
use admin::migrate;
use billing::http::RetryPolicy;
use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = Cli::parse_from(
        std::iter::once("admin".to_owned())
            .chain(billing::cli_args::help_word_as_flag(&args, true)),
    );
    billing::telemetry::init_stderr();
    // Long runs wait out Polo's rate limits (Retry-After) a few times.
    let retry = RetryPolicy {
        max_attempts: 6,
        base_delay: std::time::Duration::from_millis(200),
        max_delay: std::time::Duration::from_secs(20),
    };
    let ports =
        match billing::app::reconcile_ports(retry, Arc::new(admin::metrics::LogMetrics)).await {
            Ok(ports) => ports,
            Err(err) => {
                eprintln!("admin: {}", billing::telemetry::error_chain(&err));
                return ExitCode::from(2);
            }
        };
    let updater = ports.updater();
    let reconciler = match ports.reconciler(&updater) {
        Ok(r) => r,
        Err(err) => {
            eprintln!("admin: {err}");
            return ExitCode::from(2);
        }
    };
    // The replay and inbox commands read the inbox: IDEMPOTENCY_TABLE.
    let inbox = || match ports.idempotency {
        None => Err((2, "IDEMPOTENCY_TABLE is missing".to_owned())),
        Some(_) => {
            let handler = ports.lifecycle_handler(&updater);
            let replayer = ports.replayer(handler.clone());
            let sweeper = ports.sweeper(handler);
            match (replayer, sweeper) {
                (Ok(replayer), Ok(sweeper)) => Ok((replayer, sweeper)),
                (Err(err), _) | (_, Err(err)) => Err((2, err.to_string())),
            }
        }
    };
    let result = match cli.command {
        Command::MigratePaypal(args) => migrate_paypal(&reconciler, args, cli.json).await,
        Command::Reconcile(args) => {
            commands::reconcile(&reconciler, &args.accounts, args.all, cli.json)
                .await
                .map(ended)
                .map_err(|e| (1, e))
        }
        Command::Replay(command) => match inbox() {
            Err(err) => Err(err),
            Ok((replayer, _)) => match command {
                ReplayCommand::List { limit } => {
                    commands::replay_list(&replayer, limit, cli.json).await
                }
                ReplayCommand::Run(args) => {
                    commands::replay_run(&replayer, args.key.as_deref(), cli.json).await
                }
                ReplayCommand::Discard { key, reason } => {
                    commands::replay_discard(&replayer, &key, &reason, cli.json).await
                }
            }
            .map(ended)
            .map_err(|e| (1, e)),
        },
        Command::Inbox(command) => match inbox() {
            Err(err) => Err(err),
            Ok((_, sweeper)) => match command {
                InboxCommand::List { limit } => {
                    commands::inbox_list(&sweeper, limit, cli.json).await
                }
                InboxCommand::Retry { key } => {
                    commands::inbox_retry(&sweeper, key.as_deref(), cli.json).await
                }
            }
            .map(ended)
            .map_err(|e| (1, e)),
        },
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err((code, message)) => {
            eprintln!("admin: {message}");
            ExitCode::from(code)
        }
    }
}

fn ended(end: Ended) -> u8 {
    match end {
        Ended::Done => 0,
        Ended::SomeFailed => 1,
    }
}

async fn migrate_paypal(
    reconciler: &billing::reconcile::Reconciler,
    args: admin::cli::MigrateArgs,
    json: bool,
) -> Result<u8, (u8, String)> {
    let journal = args.journal.clone().unwrap_or_else(|| {
        let mut name = args.export.clone().into_os_string();
        name.push(".journal.jsonl");
        name.into()
    });
    let options = migrate::Options {
        input: args.export,
        report: args.report.clone(),
        journal,
        dry_run: args.dry_run,
        concurrency: usize::from(args.concurrency),
    };
    let ports = migrate::Ports {
        polo: reconciler.polo.clone(),
        updater: reconciler.updater.clone(),
        clock: reconciler.clock.clone(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("admin: stopping after the rows in flight (rerun to finish)");
            on_signal.store(true, Ordering::SeqCst);
        }
    });
    let rows = std::fs::read_to_string(&options.input)
        .map(|text| text.lines().count().saturating_sub(1))
        .unwrap_or(0);
    let bar = admin::progress::bar(json, Some(rows as u64), "rows");
    let progress = |_: &migrate::report::ReportLine| bar.inc(1);
    let (summary, _) = migrate::run(&ports, &options, &progress, &stop)
        .await
        .map_err(|e| (2, e))?;
    bar.finish_and_clear();
    let failed = summary.count(migrate::report::Outcome::Failed);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "rows": summary.rows,
                "resumed": summary.resumed,
                "interrupted": summary.interrupted,
                "outcomes": summary.counts,
                "report": args.report,
            })
        );
    } else {
        println!(
            "{} rows ({} finished by an earlier run); report: {}",
            summary.rows,
            summary.resumed,
            args.report.display()
        );
        for (outcome, count) in &summary.counts {
            println!("  {outcome}: {count}");
        }
    }
    Ok(if summary.interrupted {
        3
    } else if failed > 0 {
        1
    } else {
        0
    })
}
