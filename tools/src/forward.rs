//! A keep-alive HTTP forwarder for the harnesses: moto answers with
//! `Connection: close`, while a function keeps its connection to DynamoDB,
//! so the harnesses put this between them to measure the function, not the
//! reconnects. `on_request` sees each request first (the scale harness
//! counts DynamoDB operations there).

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};

/// Serves the forwarder on loopback and returns its URL.
pub async fn keepalive_forwarder(
    upstream: &str,
    on_request: impl Fn(&http::request::Parts) + Clone + Send + Sync + 'static,
) -> Result<String, Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder().build()?;
    let upstream = upstream.trim_end_matches('/').to_owned();
    let router = axum::Router::new().fallback(move |request: Request| {
        let (client, upstream, on_request) = (client.clone(), upstream.clone(), on_request.clone());
        async move {
            let (parts, body) = request.into_parts();
            on_request(&parts);
            forward(&client, &upstream, parts, body).await
        }
    });
    Ok(crate::serve_on_loopback(router).await?)
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    parts: http::request::Parts,
    body: axum::body::Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return http::StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers;
    for hop in [HOST, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING] {
        headers.remove(hop);
    }
    let sent = client
        .request(parts.method, format!("{upstream}{path}"))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(err) => return (http::StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    };
    let status = response.status();
    let mut headers = response.headers().clone();
    for hop in [CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING] {
        headers.remove(hop);
    }
    match response.bytes().await {
        Ok(bytes) => (status, headers, bytes).into_response(),
        Err(err) => (http::StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    }
}
