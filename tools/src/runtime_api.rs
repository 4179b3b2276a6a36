//! A small Lambda Runtime API emulator: it serves `/next`, `/response`,
//! `/error` and `/init/error` on loopback, so a compiled function binary runs
//! exactly as it would in Lambda (same runtime client, same event JSON). The
//! smoke tests and the cold-start harness drive the real binaries with it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function posted a response (the JSON it returned).
    Response(serde_json::Value),
    /// The function posted an invocation error.
    Error(String),
}

struct Pending {
    request_id: String,
    event: String,
    deadline_ms: u64,
}

#[derive(Default)]
struct Shared {
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
}

struct ServerState {
    queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    shared: Arc<Shared>,
}

/// A running emulator. Dropping it stops the server.
pub struct RuntimeApi {
    pub address: SocketAddr,
    sender: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(64);
        let shared = Arc::new(Shared::default());
        let state = Arc::new(ServerState {
            queue: tokio::sync::Mutex::new(receiver),
            shared: shared.clone(),
        });
        let router = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            address,
            sender,
            shared,
            server,
            next_id: std::sync::atomic::AtomicU64::new(1),
        })
    }

    /// `binary` as Lambda starts it for function `name`: nothing inherited
    /// but the runtime's own variables (128 MB, `$LATEST`), pointed here.
    pub fn function(
        &self,
        binary: impl AsRef<std::ffi::OsStr>,
        name: &str,
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.runtime_api_env())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .kill_on_drop(true);
        command
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api_env(&self) -> String {
        self.address.to_string()
    }

    /// When the function first asked for work (its init was done).
    pub fn first_poll(&self) -> Option<Instant> {
        *self
            .shared
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// What the function reported on `/init/error`, if anything.
    pub fn init_error(&self) -> Option<String> {
        self.shared
            .init_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Hands the function one event and waits for its answer.
    pub async fn invoke(&self, event: &str, timeout: Duration) -> Result<Outcome, String> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let request_id = format!("00000000-0000-4000-8000-{id:012}");
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(request_id.clone(), tx);
        let deadline_ms = (std::time::SystemTime::now() + timeout)
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_millis() as u64;
        self.sender
            .send(Pending {
                request_id,
                event: event.to_owned(),
                deadline_ms,
            })
            .await
            .map_err(|_| "the emulator stopped".to_owned())?;
        tokio::time::timeout(timeout, rx)
            .await
            .map_err(|_| "the function did not answer before its deadline".to_owned())?
            .map_err(|_| "the emulator stopped".to_owned())
    }
}

async fn next(State(state): State<Arc<ServerState>>) -> impl IntoResponse {
    state
        .shared
        .first_poll
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(Instant::now);
    let Some(pending) = state.queue.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", &pending.request_id);
    set(
        "lambda-runtime-deadline-ms",
        &pending.deadline_ms.to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:local",
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    );
    (StatusCode::OK, headers, pending.event)
}

fn finish(state: &ServerState, id: &str, outcome: Outcome) -> StatusCode {
    match state
        .shared
        .waiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(id)
    {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(state): State<Arc<ServerState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&state, &id, Outcome::Response(value))
}

async fn error(
    State(state): State<Arc<ServerState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(
        &state,
        &id,
        Outcome::Error(String::from_utf8_lossy(&body).into_owned()),
    )
}

async fn init_error(State(state): State<Arc<ServerState>>, body: Bytes) -> StatusCode {
    *state
        .shared
        .init_error
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}
