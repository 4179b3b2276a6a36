//! The Polo sandbox on its own (`polo-sandbox serve`), or a client of a
//! running sandbox's admin API (`polo-sandbox advance 31d`, ...). The local
//! stack (`cargo run -p tools --bin local`) runs one in-process already.

use std::sync::Arc;
use tools::sandbox::cli::{self, Command};
use tools::sandbox::clock::SandboxClock;
use tools::sandbox::launch::launch;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = cli::parse(&args).unwrap_or_else(|err| err.exit());
    let result = match command {
        Command::Serve { port, options } => serve(port, options).await,
        Command::Admin {
            base,
            method,
            path,
            body,
            report,
        } => match cli::admin(&base, method, &path, body).await {
            Ok(answer) if report.is_empty() => {
                println!("{answer}");
                Ok(())
            }
            Ok(_) => cli::report_deliveries(&base, &report).await.map(|lines| {
                for line in lines {
                    println!("{line}");
                }
            }),
            Err(message) => Err(message),
        },
    };
    if let Err(message) = result {
        eprintln!("{message}");
        std::process::exit(1);
    }
}

async fn serve(port: u16, options: tools::sandbox::launch::SandboxOptions) -> Result<(), String> {
    billing::telemetry::init();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
    let target = options
        .webhook_target
        .as_ref()
        .map_or("nowhere (--no-webhooks)".to_owned(), |u| u.to_string());
    let sandbox = launch(listener, options, Arc::new(SandboxClock::new())).await?;
    println!(
        "\nPolo sandbox on {url}\n  API:      {url}/v1/...  (Authorization: Bearer <POLO_API_KEY>)\n  webhooks: {target}api/billing/polo/<endpoint>\n  admin:    {url}/admin/state, or `polo-sandbox --help`\n",
        url = sandbox.public_url()
    );
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
