//! Real API Gateway HTTP API (payload v2.0) events, as Lambda delivers them,
//! turned into `lambda_http` requests the same way the runtime does.

use base64::Engine;
use lambda_http::{Context, Request, RequestExt};

/// Builds the JSON of a v2 event. `base64` sends the body as API Gateway
/// does for binary content types (`isBase64Encoded: true`).
pub fn event_json(path: &str, headers: &[(&str, String)], body: &[u8], base64: bool) -> String {
    let mut header_map = serde_json::Map::new();
    header_map.insert("content-type".into(), "application/json".into());
    header_map.insert(
        "host".into(),
        "abc123.execute-api.us-east-1.amazonaws.com".into(),
    );
    header_map.insert("user-agent".into(), "Polo-Webhooks/1.0".into());
    header_map.insert("x-forwarded-for".into(), "203.0.113.10".into());
    header_map.insert("x-forwarded-proto".into(), "https".into());
    for (name, value) in headers {
        header_map.insert((*name).to_owned(), value.clone().into());
    }
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).expect("a text body in a non-base64 event")
    };
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "Polo-Webhooks/1.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("POST {path}"),
            "stage": "$default",
            "time": "24/Nov/2026:22:00:00 +0000",
            "timeEpoch": 1_795_557_600_000_i64
        },
        "body": body,
        "isBase64Encoded": base64
    })
    .to_string()
}

/// Parses event JSON into a request with a Lambda context whose deadline is
/// `deadline_ms` (unix millis), as the runtime hands it to the handler.
pub fn request(json: &str, deadline_ms: u64) -> Request {
    let request = lambda_http::request::from_str(json).expect("a valid API Gateway v2 event");
    let mut context = Context::default();
    context.request_id = "req-0001".to_owned();
    context.deadline = deadline_ms;
    request.with_lambda_context(context)
}

/// A dashboard request as API Gateway delivers it after the JWT authorizer:
/// the claims sit in `requestContext.authorizer.jwt.claims`. `sub: None`
/// leaves the authorizer block out (a route without the authorizer).
pub fn dashboard_event_json(
    route_key: &str,
    sub: Option<&str>,
    query: &str,
    body: Option<&[u8]>,
    base64: bool,
) -> String {
    let (method, path) = route_key.split_once(' ').expect("METHOD /path");
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "accept": "application/json",
            "authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.test.signature",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "origin": "https://app.example.com",
            "user-agent": "Mozilla/5.0",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "Mozilla/5.0"
            },
            "requestId": "DbrdQj5NIAMEa1Q=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "26/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1_795_770_000_000_i64
        },
        "isBase64Encoded": base64
    });
    if !query.is_empty() {
        let params: serde_json::Map<String, serde_json::Value> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        event["queryStringParameters"] = params.into();
    }
    if let Some(sub) = sub {
        event["requestContext"]["authorizer"] = serde_json::json!({
            "jwt": {
                "claims": {
                    "sub": sub,
                    "iss": "https://auth.example.com/",
                    "aud": "billing-dashboard",
                    "exp": "1795773600"
                },
                "scopes": null
            }
        });
    }
    if let Some(body) = body {
        event["headers"]["content-type"] = "application/json".into();
        event["body"] = if base64 {
            base64::engine::general_purpose::STANDARD
                .encode(body)
                .into()
        } else {
            String::from_utf8(body.to_vec())
                .expect("a text body in a non-base64 event")
                .into()
        };
    }
    event.to_string()
}
