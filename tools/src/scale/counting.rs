//! Request counters per dependency: every stand-in the scale harness hosts
//! (Convex, Polo, the orchestrator) sits behind a layer that counts each
//! request by dependency and operation, and DynamoDB (moto) is reached
//! through a counting forwarder that reads the operation from
//! `X-Amz-Target`. Calls per account are these counts over N.

use axum::extract::Request;
use axum::middleware::Next;
use axum::Router;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counts by "dependency operation" (e.g. `convex get`, `dynamodb Query`).
#[derive(Debug, Default)]
pub struct Counter {
    counts: Mutex<BTreeMap<(String, String), u64>>,
}

impl Counter {
    pub fn add(&self, dependency: &str, operation: &str) {
        self.add_n(dependency, operation, 1);
    }

    pub fn add_n(&self, dependency: &str, operation: &str, n: u64) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((dependency.to_owned(), operation.to_owned()))
            .or_default() += n;
    }

    /// The counts so far, and zero from now on.
    pub fn take(&self) -> BTreeMap<(String, String), u64> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Totals per dependency of a [`Counter::take`].
pub fn per_dependency(counts: &BTreeMap<(String, String), u64>) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for ((dependency, _), n) in counts {
        *totals.entry(dependency.clone()).or_default() += n;
    }
    totals
}

/// The operation a request is counted as: the path with ids folded away.
fn operation(dependency: &str, request: &Request) -> String {
    let path = request.uri().path();
    let method = request.method().as_str();
    match dependency {
        // `/billing/v1/accounts/{call}`: the call is the operation.
        "convex" => path.rsplit('/').next().unwrap_or("").to_owned(),
        // `/v1/customers/external/{id}`, `/v1/subscriptions/{id}`...: the
        // first two segments name it.
        "polo" => {
            let kind: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).take(3).collect();
            let kind = match kind.as_slice() {
                ["v1", resource, "external", ..] => format!("{resource}/external"),
                ["v1", resource, _] => format!("{resource}/{{id}}"),
                ["v1", resource] => format!("{resource}/"),
                other => other.join("/"),
            };
            format!("{method} {kind}")
        }
        _ => format!("{method} {path}"),
    }
}

/// `router` with every request counted under `dependency`, after waiting
/// `latency` (a dependency slower than loopback; zero for none).
pub fn counted(
    router: Router,
    counter: Arc<Counter>,
    dependency: &'static str,
    latency: Duration,
) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let counter = counter.clone();
            async move {
                counter.add(dependency, &operation(dependency, &request));
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                let response = next.run(request).await;
                if response.status() == http::StatusCode::TOO_MANY_REQUESTS {
                    counter.add(dependency, "answered 429");
                }
                response
            }
        },
    ))
}

/// A keep-alive forwarder to moto that counts each DynamoDB operation
/// (`X-Amz-Target: DynamoDB_20120810.<Operation>`). moto answers with
/// `Connection: close`; the function keeps its connection to the forwarder,
/// as it would to DynamoDB.
pub async fn dynamodb_forwarder(
    moto: &str,
    counter: Arc<Counter>,
) -> Result<String, Box<dyn std::error::Error>> {
    crate::forward::keepalive_forwarder(moto, move |parts: &http::request::Parts| {
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("other")
            .to_owned();
        counter.add("dynamodb", &target);
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str) -> Request {
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap_or_default()
    }

    #[test]
    fn operations_fold_ids_away_so_counts_group_by_kind_of_call() {
        let op = |dep, method, path| operation(dep, &request(method, path));
        assert_eq!(op("convex", "POST", "/billing/v1/accounts/get"), "get");
        assert_eq!(
            op("polo", "GET", "/v1/customers/external/acct_1"),
            "GET customers/external"
        );
        assert_eq!(
            op("polo", "GET", "/v1/subscriptions/"),
            "GET subscriptions/"
        );
        assert_eq!(
            op("polo", "GET", "/v1/subscriptions/abc"),
            "GET subscriptions/{id}"
        );
        assert_eq!(op("orchestrator", "POST", "/"), "POST /");
    }

    #[test]
    fn take_returns_the_counts_and_starts_again_from_zero() {
        let counter = Counter::default();
        counter.add("convex", "get");
        counter.add("convex", "get");
        counter.add("polo", "GET customers/external");
        let counts = counter.take();
        assert_eq!(counts[&("convex".into(), "get".into())], 2);
        assert_eq!(per_dependency(&counts)["polo"], 1);
        assert!(counter.take().is_empty());
    }
}
