//! A fault switch in front of any stand-in (the Convex stand-in, the
//! orchestrator's receiver): while set, every request is answered with the
//! chosen fault instead of reaching the stand-in — an outage, throttling, a
//! refused signature, or a call that never answers. Tests and drills flip
//! it to show what the system does through a dependency's incident.

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the switched stand-in answers right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Healthy,
    /// This status (with `Retry-After: seconds` when given), a JSON body.
    Status(u16, Option<u32>),
    /// Never answers within a minute (the caller's deadline ends first).
    Hang,
    /// Hangs only requests whose path ends with this; the rest pass. The
    /// kill drills stop a process exactly at one step of the pipeline.
    HangOn(&'static str),
}

/// The switch; cloning shares it.
#[derive(Clone)]
pub struct FaultSwitch {
    fault: Arc<Mutex<Fault>>,
    /// Requests held by `Hang`/`HangOn` so far.
    hung: Arc<AtomicUsize>,
}

impl Default for FaultSwitch {
    fn default() -> Self {
        Self {
            fault: Arc::new(Mutex::new(Fault::Healthy)),
            hung: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl FaultSwitch {
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    pub fn get(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many requests have been held so far (a drill waits for its
    /// process to reach the hung step before killing it).
    pub fn hung(&self) -> usize {
        self.hung.load(Ordering::SeqCst)
    }

    /// `router` behind this switch.
    pub fn wrap(&self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(self.clone(), switched))
    }
}

async fn switched(State(switch): State<FaultSwitch>, request: Request, next: Next) -> Response {
    match switch.get() {
        Fault::Healthy => next.run(request).await,
        Fault::Status(status, retry_after) => {
            let status = http::StatusCode::from_u16(status)
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, r#"{"error":"injected_fault"}"#.to_owned()).into_response();
            if let Some(seconds) = retry_after {
                if let Ok(value) = http::HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert("retry-after", value);
                }
            }
            response
        }
        Fault::Hang => {
            switch.hung.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(60)).await;
            next.run(request).await
        }
        Fault::HangOn(suffix) if request.uri().path().ends_with(suffix) => {
            switch.hung.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(60)).await;
            next.run(request).await
        }
        Fault::HangOn(_) => next.run(request).await,
    }
}
