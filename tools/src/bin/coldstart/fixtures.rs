//! The world a measured function runs in: its DynamoDB table, loopback
//! servers, the keep-alive forwarder in front of moto, and renewal events.

/// The idempotency table the measured functions share, on moto.
pub async fn table(moto: &str) -> Result<String, String> {
    tools::moto::fresh_table(moto, "coldstart").await
}

pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    url
}

/// moto runs on Werkzeug's development server, which answers every request
/// with `Connection: close`: a client talking to it directly opens a new TCP
/// connection for every DynamoDB call, which DynamoDB itself never forces
/// (the SDK keeps its connections alive). This forwarder keeps the
/// function's connection alive and does the reconnecting to moto on the
/// harness's CPU, so the function's CPU per event reflects production's
/// connection reuse. `COLDSTART_MOTO_DIRECT=1` measures without it.
pub async fn keepalive_forwarder(moto: &str) -> Result<String, Box<dyn std::error::Error>> {
    tools::forward::keepalive_forwarder(moto, |_| {}).await
}

/// The shipped event as the `i`th renewal: `modified_at` `i` seconds and
/// the period end `i` days later. Every such event applies (an account
/// write) and moves the entitlement's expiry (a push and its
/// acknowledgement): the heaviest common path, where the shipped event
/// resent is the lightest (the account is unchanged after the first).
pub fn renewal(shipped: &str, i: usize) -> Result<String, String> {
    use base64::Engine as _;
    use time::format_description::well_known::Rfc3339;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut event: serde_json::Value =
        serde_json::from_str(shipped).map_err(|e| format!("event: {e}"))?;
    let encoded = event["isBase64Encoded"].as_bool().unwrap_or(false);
    let raw = event["body"].as_str().ok_or("event: no body")?;
    let bytes = if encoded {
        b64.decode(raw).map_err(|e| format!("event body: {e}"))?
    } else {
        raw.as_bytes().to_vec()
    };
    let mut body: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("event body: {e}"))?;
    let steps = i64::try_from(i).map_err(|e| e.to_string())?;
    for (field, step) in [
        ("modified_at", time::Duration::seconds(steps)),
        ("current_period_end", time::Duration::days(steps)),
    ] {
        let at = body["data"][field]
            .as_str()
            .and_then(|t| time::OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or(format!("event body: no {field}"))?;
        let moved = (at + step).format(&Rfc3339).map_err(|e| e.to_string())?;
        body["data"][field] = moved.into();
    }
    let text = body.to_string();
    event["body"] = if encoded { b64.encode(text) } else { text }.into();
    Ok(event.to_string())
}
