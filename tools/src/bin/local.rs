//! The README's run command: the whole system on loopback, embedded
//! defaults (`local --help` for the flags that swap in a real adapter).

use tools::local::assemble::start;
use tools::local::console;
use tools::local::options::{LocalOptions, OptionsError};
use tools::local::walkthrough;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match LocalOptions::parse(&args, &|name| std::env::var(name).ok()) {
        Ok(options) => options,
        // Help to stdout (exit 0); a usage error to stderr (exit 2).
        Err(OptionsError::Cli(err)) => err.exit(),
        Err(OptionsError::Invalid(message)) => {
            eprintln!("{message}\n\nFor more information, try '--help'.");
            std::process::exit(2);
        }
    };
    match &options.log_file {
        // The terminal is for a person: a line per request, JSON to a file.
        Some(file) => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(err) = billing::telemetry::init_to_file(file) {
                eprintln!("{}: {err}", file.display());
                std::process::exit(2);
            }
            console::print_requests();
        }
        None => billing::telemetry::init(),
    }
    match start(options).await {
        Ok(running) => {
            println!("{}", walkthrough::text(&running));
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        Err(message) => {
            eprintln!("the local stack did not start: {message}");
            std::process::exit(1);
        }
    }
}
