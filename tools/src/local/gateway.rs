//! API Gateway, played locally for the dashboard routes: the JWT
//! authorizer's check (401 `{"message":"Unauthorized"}` before any function
//! runs, as API Gateway answers), then the HTTP API payload v2.0 event the
//! function would receive — claims in `requestContext.authorizer.jwt.claims`
//! — parsed by `lambda_http` exactly as the Lambda runtime parses it.

use super::jwt::{flatten_claims, DevJwt};
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use billing::dashboard::{Dashboard, Route};
use http::request::Parts;
use http::StatusCode;
use lambda_http::{Context, RequestExt};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// The dashboard functions' timeout (design.md: 10 s).
const FUNCTION_TIMEOUT_MS: i128 = 10_000;

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            ("content-type", "application/json"),
            ("www-authenticate", "Bearer"),
        ],
        r#"{"message":"Unauthorized"}"#,
    )
        .into_response()
}

/// Authorizes, builds the event, runs the function, returns its answer and
/// the account the token was for (for the terminal's request line).
pub async fn invoke(
    dashboard: &Dashboard,
    jwt: &DevJwt,
    route: Route,
    parts: Parts,
    body: Bytes,
) -> (Response, Option<String>) {
    let authorization = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Ok(claims) = jwt.verify_header(authorization) else {
        return (unauthorized(), None);
    };
    let account = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    let request_id = uuid::Uuid::new_v4().to_string();
    let now = OffsetDateTime::now_utc();
    let event = event_json(route, &parts, &body, &claims, &request_id, now);
    let Ok(request) = lambda_http::request::from_str(&event.to_string()) else {
        let failed = (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal Server Error"}"#,
        )
            .into_response();
        return (failed, account);
    };
    let mut context = Context::default();
    context.request_id = request_id;
    let deadline_ms = now.unix_timestamp_nanos() / 1_000_000 + FUNCTION_TIMEOUT_MS;
    context.deadline = u64::try_from(deadline_ms).unwrap_or(0);
    let response = dashboard
        .handle(route, request.with_lambda_context(context))
        .await;
    let (parts, body) = response.into_parts();
    ((parts, body.to_vec()).into_response(), account)
}

/// The HTTP API (payload v2.0) event for this request.
pub fn event_json(
    route: Route,
    parts: &Parts,
    body: &[u8],
    claims: &Map<String, Value>,
    request_id: &str,
    now: OffsetDateTime,
) -> Value {
    let (method, path) = route.route_key().split_once(' ').unwrap_or(("GET", "/"));
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        if name == http::header::COOKIE {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let joined = match headers.remove(name.as_str()) {
            Some(Value::String(before)) => format!("{before},{value}"),
            _ => value,
        };
        headers.insert(name.as_str().to_owned(), Value::String(joined));
    }
    let raw_query = parts.uri.query().unwrap_or("");
    let mut query = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        let joined = match query.remove(k.as_ref()) {
            Some(Value::String(before)) => format!("{before},{v}"),
            _ => v.into_owned(),
        };
        query.insert(k.into_owned(), Value::String(joined));
    }
    let user_agent = headers
        .get("user-agent")
        .cloned()
        .unwrap_or_else(|| json!(""));
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key(),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers_host(parts),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route.route_key(),
            "stage": "$default",
            "time": apigw_time(now),
            "timeEpoch": now.unix_timestamp_nanos() / 1_000_000,
            "authorizer": {"jwt": {"claims": flatten_claims(claims), "scopes": null}},
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event["body"] = json!(text),
            Err(_) => {
                event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

fn headers_host(parts: &Parts) -> String {
    parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

/// `26/Nov/2026:09:00:00 +0000`, as `requestContext.time` reads.
fn apigw_time(now: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    now.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::request::RequestContext;

    #[test]
    fn the_event_carries_the_claims_where_the_jwt_authorizer_puts_them() {
        let request = http::Request::builder()
            .method("GET")
            .uri("/api/billing/status?checkout_id=c%201&x=1&x=2")
            .header("host", "127.0.0.1:3000")
            .header("authorization", "Bearer t")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("acct_local_1"));
        claims.insert("exp".into(), json!(1_795_773_600));
        let event = event_json(
            Route::Status,
            &parts,
            b"",
            &claims,
            "r1",
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(
            event["requestContext"]["time"],
            "01/Jan/1970:00:00:00 +0000"
        );
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            panic!("an HTTP API v2 request");
        };
        let jwt = context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .unwrap();
        assert_eq!(
            jwt.claims.get("sub").map(String::as_str),
            Some("acct_local_1")
        );
        assert_eq!(
            jwt.claims.get("exp").map(String::as_str),
            Some("1795773600")
        );
        let query = request.query_string_parameters();
        assert_eq!(query.first("checkout_id"), Some("c 1"));
    }
}
