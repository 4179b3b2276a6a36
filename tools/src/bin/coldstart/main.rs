//! Cold-start harness: starts a compiled function binary behind the Lambda
//! Runtime API emulator — stores on the DynamoDB emulator, accounts on the
//! Convex stand-in, secrets from the environment — hands it real signed
//! events, and reports init (spawn → first `/next`), spawn → first answer,
//! warm p50/p99, CPU per warm event and peak RSS, beside the trivial
//! `lambda_http` baseline measured in the same run. The warm path is also
//! set against its floor (`floor-lambda`: the same three round trips and
//! nothing else, over bare hyper, over reqwest, and with DynamoDB through
//! the AWS SDK), so what is ours to cut is told apart from what the round
//! trips cost on this machine. CPU per event is the scheduler's exact
//! account (`/proc/<pid>/task/*/schedstat`), beside the 10 ms tick count.
//!
//! Cold starts are repeated (default 15 of each, interleaved) and reported
//! as medians, so one noisy start on a shared machine does not decide a
//! figure; the warm figures come from one long run of each.
//!
//! usage: coldstart <target/release dir> [warm events, default 200] [cold starts, default 15]
//!        coldstart all <target/release dir> [warm events, default 50] [cold starts, default 7]
//! `all`: every one of the twelve functions beside the trivial binary
//! (all.rs, over the subjects of `tools::subjects`).
//! `COLDSTART_EVENTS=renewal`: every event a renewal (account write and
//! push) instead of the same snapshot again (claim, read, completion).
//! needs MOTO_ENDPOINT (scripts/coldstart.sh starts moto and builds).

mod all;
mod fixtures;
mod measure;
mod single;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "all") {
        args.remove(0);
        return all::run(&args).await;
    }
    single::run(&args).await
}
