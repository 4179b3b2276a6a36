//! Runs the compiled `admin` binary the way ops would: only the
//! environment variables of the configuration, `--json` on stdout, and its
//! log (stderr) appended where the test command scans for secrets.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use tools::local::{LOCAL_CONVEX_SECRET, LOCAL_PRODUCTS, LOCAL_PROVISIONING_SECRET};
use tools::sandbox::LOCAL_API_KEY;

/// Where the admin binary's ports live.
pub struct AdminEnv {
    pub polo_url: String,
    pub convex_url: String,
    pub provisioning_url: String,
    /// DynamoDB endpoint and idempotency table (for `replay`).
    pub dynamodb: Option<(String, String)>,
}

pub fn log_file() -> std::fs::File {
    let dir = std::env::var("TEST_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("binary-admin.jsonl"))
        .expect("the log file opens")
}

impl AdminEnv {
    /// `admin --json <args>`, stdout piped.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let (starter, pro, enterprise) = LOCAL_PRODUCTS;
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_admin"));
        command
            .env_clear()
            .env("AWS_REGION", "us-east-1")
            .env("STAGE", "local")
            .env("POLO_ENVIRONMENT", "sandbox")
            .env("POLO_API_BASE_URL", &self.polo_url)
            .env("POLO_API_KEY", LOCAL_API_KEY)
            .env("POLO_PLAN_ID_STARTER", starter)
            .env("POLO_PLAN_ID_PRO", pro)
            .env("POLO_PLAN_ID_ENTERPRISE", enterprise)
            .env("CONVEX_SITE_URL", &self.convex_url)
            .env("CONVEX_SIGNING_SECRET", LOCAL_CONVEX_SECRET)
            .env("PROVISIONING_URL", &self.provisioning_url)
            .env("PROVISIONING_SIGNING_SECRET", LOCAL_PROVISIONING_SECRET)
            .env("RUST_LOG", "info")
            .arg("--json")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log_file())
            .kill_on_drop(true);
        if let Some((endpoint, table)) = &self.dynamodb {
            command
                .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("IDEMPOTENCY_TABLE", table);
        }
        command
    }

    /// Runs `admin --json <args>` to its end: the exit status and stdout,
    /// which must be exactly one JSON object.
    pub async fn run(&self, args: &[&str]) -> (ExitStatus, serde_json::Value) {
        let out = self
            .command(args)
            .output()
            .await
            .expect("the admin binary runs");
        // `output()` captures stderr too: its log goes where the rest is.
        log_file()
            .write_all(&out.stderr)
            .expect("the log is appended");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
        (out.status, json)
    }
}
