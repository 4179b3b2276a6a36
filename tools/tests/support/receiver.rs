//! A webhook receiver for the sandbox's dispatcher tests: records every
//! delivery and answers from a script of statuses (then 200).

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub endpoint: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Delivery {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

#[derive(Default)]
pub struct Receiver {
    deliveries: Mutex<Vec<Delivery>>,
    script: Mutex<HashMap<String, VecDeque<u16>>>,
    /// Answer this to everything once the script is used up (default 200).
    then: Mutex<Option<u16>>,
}

impl Receiver {
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    /// The next answers of one endpoint, in order.
    pub fn script(&self, endpoint: &str, statuses: &[u16]) {
        self.script
            .lock()
            .unwrap()
            .entry(endpoint.to_owned())
            .or_default()
            .extend(statuses);
    }

    pub fn always(&self, status: Option<u16>) {
        *self.then.lock().unwrap() = status;
    }
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    let scripted = receiver
        .script
        .lock()
        .unwrap()
        .get_mut(&endpoint)
        .and_then(VecDeque::pop_front);
    receiver.deliveries.lock().unwrap().push(Delivery {
        endpoint,
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    });
    let status = scripted.or(*receiver.then.lock().unwrap()).unwrap_or(200);
    (
        StatusCode::from_u16(status).unwrap(),
        [("location", "http://127.0.0.1:9/elsewhere")],
    )
}

/// Serves a receiver on a free loopback port; returns it and its base URL.
pub async fn serve() -> (Arc<Receiver>, url::Url) {
    let receiver = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/api/billing/polo/{endpoint}", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, base)
}
