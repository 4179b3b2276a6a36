//! The case table. `transport` cases (signature, encoding, size, headers)
//! go to every function under test; `subscription` and `order` cases
//! change the body of a shipped event in one way each.

use super::{edit, nulls, numbers_as_strings, Case, Delivery, Expect, WRONG_KEY};
use serde_json::{json, Value};

const KIB: usize = 1024;

fn answer(status: u64, label: &'static str) -> Expect {
    Expect::Answer(status, label)
}

const UNSIGNED: Expect = Expect::Answer(401, "invalid_signature");

struct Table<'a> {
    prefix: &'a str,
    path: &'a str,
    secret: &'a str,
    now: i64,
    cases: Vec<Case>,
}

impl<'a> Table<'a> {
    fn new(prefix: &'a str, path: &'a str, secret: &'a str, now: i64) -> Self {
        Self {
            prefix,
            path,
            secret,
            now,
            cases: Vec::new(),
        }
    }

    fn id(&self, name: &str) -> String {
        format!(
            "msg_corpus_{}_{}",
            self.prefix,
            name.replace(['-', ' '], "_")
        )
    }

    fn delivery(&self, name: &str, body: &[u8]) -> Delivery {
        Delivery::signed(self.path, &self.id(name), body, self.secret, self.now)
    }

    fn push(&mut self, name: &str, delivery: Delivery, expect: Expect, signed: bool) {
        self.cases.push(Case {
            name: format!("{}/{name}", self.prefix),
            event: delivery.event(),
            expect,
            signed,
        });
    }

    /// A signed delivery of `body`.
    fn signed(&mut self, name: &str, body: &[u8], expect: Expect) {
        let delivery = self.delivery(name, body);
        self.push(name, delivery, expect, true);
    }
}

/// Signatures, encodings, sizes and headers, for the function at `path`.
/// `harmless` is a body the function verifies and answers `harmless_answer`
/// without changing the account (a stale or already-applied snapshot).
pub fn transport(
    prefix: &str,
    path: &str,
    secret: &str,
    now: i64,
    harmless: &[u8],
    harmless_answer: Expect,
) -> Vec<Case> {
    let mut t = Table::new(prefix, path, secret, now);
    let ok = || harmless_answer.clone();

    // Signatures.
    let mut d = t.delivery("signature-missing", harmless);
    d.signature = None;
    t.push("signature-missing", d, UNSIGNED, false);
    for (name, signature) in [
        ("signature-empty", String::new()),
        ("signature-v1-comma-only", "v1,".to_owned()),
        ("signature-v1-no-comma", "v1".to_owned()),
        ("signature-not-base64", "v1,!!!not base64!!!".to_owned()),
        (
            "signature-several-none-valid",
            "v1,AAAA v1,BBBB v1,".to_owned(),
        ),
    ] {
        let mut d = t.delivery(name, harmless);
        d.signature = Some(signature);
        t.push(name, d, UNSIGNED, false);
    }
    let mut d = t.delivery("signature-wrong-version", harmless);
    let valid = d.signature.clone().unwrap_or_default();
    d.signature = Some(valid.replacen("v1,", "v2,", 1));
    t.push("signature-wrong-version", d, UNSIGNED, false);
    let mut d = t.delivery("signature-several-one-valid", harmless);
    let valid = d.signature.clone().unwrap_or_default();
    d.signature = Some(format!("v1,AAAA v2,BBBB {valid}"));
    t.push("signature-several-one-valid", d, ok(), true);
    let mut d = t.delivery("signature-truncated", harmless);
    let valid = d.signature.clone().unwrap_or_default();
    d.signature = Some(valid[..valid.len() - 4].to_owned());
    t.push("signature-truncated", d, UNSIGNED, false);
    let d = Delivery::signed(path, &t.id("signature-wrong-key"), harmless, WRONG_KEY, now);
    t.push("signature-wrong-key", d, UNSIGNED, false);
    let d = Delivery::signed(path, &t.id("timestamp-old"), harmless, secret, now - 400);
    t.push("timestamp-old", d, UNSIGNED, false);
    let d = Delivery::signed(path, &t.id("timestamp-future"), harmless, secret, now + 400);
    t.push("timestamp-future", d, UNSIGNED, false);
    let d = Delivery::signed(
        path,
        &t.id("timestamp-just-in-window"),
        harmless,
        secret,
        now - 240,
    );
    t.push("timestamp-just-in-window", d, ok(), true);
    for (name, timestamp) in [
        ("timestamp-not-a-number", "yesterday"),
        ("timestamp-empty", ""),
        ("timestamp-milliseconds", "1796594400000"),
        ("timestamp-negative", "-1"),
    ] {
        let mut d = t.delivery(name, harmless);
        d.timestamp = timestamp.to_owned();
        t.push(name, d, UNSIGNED, false);
    }
    let mut d = t.delivery("webhook-id-missing", harmless);
    d.without.push("webhook-id");
    t.push("webhook-id-missing", d, UNSIGNED, false);
    let mut d = t.delivery("webhook-id-not-the-signed-one", harmless);
    d.id.push('x');
    t.push("webhook-id-not-the-signed-one", d, UNSIGNED, false);
    let mut d = t.delivery("body-not-the-signed-one", harmless);
    d.body.push(b' ');
    t.push("body-not-the-signed-one", d, UNSIGNED, false);

    // Encodings.
    let mut d = t.delivery("base64-flag-bad-base64", harmless);
    d.base64 = false;
    let mut event: Value = serde_json::from_str(&d.event()).expect("event JSON");
    event["body"] = "%%% not base64 %%%".into();
    event["isBase64Encoded"] = true.into();
    t.cases.push(Case {
        name: format!("{prefix}/base64-flag-bad-base64"),
        event: event.to_string(),
        // aws_lambda_events panics decoding it, before our handler; the
        // runtime reports an invocation error and serves the next event.
        // API Gateway never sends it (it encodes bodies itself).
        expect: Expect::Refused,
        signed: false,
    });
    let mut d = t.delivery("base64-encoded", harmless);
    d.base64 = true;
    t.push("base64-encoded", d, ok(), true);
    let text = String::from_utf8_lossy(harmless).into_owned();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    t.signed("utf16-with-bom", &utf16, answer(200, "parked:malformed"));
    let bom: Vec<u8> = [0xEF, 0xBB, 0xBF].iter().chain(harmless).copied().collect();
    t.signed("utf8-bom", &bom, answer(200, "parked:malformed"));
    let invalid = text
        .replacen("\"type\"", "\"t\u{FFFD}pe\"", 1)
        .replace('\u{FFFD}', "\u{1}");
    let mut invalid = invalid.into_bytes();
    if let Some(at) = invalid.iter().position(|b| *b == 1) {
        invalid[at] = 0xC3; // a lone lead byte: not UTF-8
    }
    t.signed("invalid-utf8", &invalid, answer(200, "parked:malformed"));
    let d = Delivery::signed(
        path,
        &t.id("invalid-utf8-unsigned"),
        &invalid,
        WRONG_KEY,
        now,
    );
    t.push("invalid-utf8-unsigned", d, UNSIGNED, false);

    // Sizes.
    t.signed("empty-body", b"", answer(200, "parked:malformed"));
    let mut d = t.delivery("empty-body-unsigned", b"");
    d.signature = None;
    t.push("empty-body-unsigned", d, UNSIGNED, false);
    let padded = |len: usize| {
        let mut body = harmless.to_vec();
        body.resize(len, b' ');
        body
    };
    t.signed("size-256k-minus-1", &padded(256 * KIB - 1), ok());
    t.signed("size-256k", &padded(256 * KIB), ok());
    let too_large = answer(413, "payload_too_large");
    let d = t.delivery("size-256k-plus-1", &padded(256 * KIB + 1));
    t.push("size-256k-plus-1", d, too_large.clone(), false);
    let d = t.delivery("size-10m", &padded(10 * KIB * KIB));
    t.push("size-10m", d, too_large.clone(), false);
    let mut d = t.delivery("size-10m-unsigned", &padded(10 * KIB * KIB));
    d.signature = None;
    t.push("size-10m-unsigned", d, too_large, false);

    // Headers.
    let mut d = t.delivery("signature-header-duplicated", harmless);
    let valid = d.signature.clone().unwrap_or_default();
    // API Gateway joins a repeated header's values with commas.
    d.signature = Some(format!("v1,AAAA,{valid}"));
    t.push("signature-header-duplicated", d, UNSIGNED, false);
    let mut d = t.delivery("header-names-odd-case", harmless);
    let valid = d.signature.clone().unwrap_or_default();
    d.without
        .extend(["webhook-id", "webhook-timestamp", "webhook-signature"]);
    d.headers = vec![
        ("Webhook-Id".into(), d.id.clone()),
        ("WEBHOOK-TIMESTAMP".into(), d.timestamp.clone()),
        ("webhook-Signature".into(), valid),
    ];
    t.push("header-names-odd-case", d, ok(), true);
    let mut d = t.delivery("header-huge-unsigned", harmless);
    d.signature = None;
    d.headers = vec![("x-padding".into(), "p".repeat(64 * KIB))];
    t.push("header-huge-unsigned", d, UNSIGNED, false);
    let mut d = t.delivery("header-huge-signed", harmless);
    d.headers = vec![("x-padding".into(), "p".repeat(64 * KIB))];
    t.push("header-huge-signed", d, ok(), true);
    let mut d = t.delivery("content-type-text", harmless);
    d.headers = vec![("content-type".into(), "text/plain; charset=latin1".into())];
    t.push("content-type-text", d, ok(), true);
    let mut d = t.delivery("webhook-id-control-chars", harmless);
    d.id = "msg_\u{7}\u{1b}[31mred".into();
    // Not a valid HTTP header value: lambda_http refuses the event (an
    // invocation error); API Gateway would have refused the request.
    t.push("webhook-id-control-chars", d, Expect::Refused, false);
    t.cases
}

/// Bodies of `subscription.*` events at the subscription endpoint, each
/// parked (or refused) with the account left as it was.
/// `other` is a valid event of another endpoint (an `order.paid`).
pub fn subscription(
    prefix: &str,
    path: &str,
    secret: &str,
    now: i64,
    base: &Value,
    other: &[u8],
) -> Vec<Case> {
    let mut t = Table::new(prefix, path, secret, now);
    let malformed = || answer(200, "parked:malformed");
    let text = serde_json::to_string(base).expect("JSON");

    // JSON.
    t.signed(
        "json-truncated",
        &text.as_bytes()[..text.len() / 2],
        malformed(),
    );
    t.signed("json-not-json", b"type=subscription.active", malformed());
    t.signed(
        "json-top-level-array",
        format!("[{text}]").as_bytes(),
        malformed(),
    );
    let duplicate = format!("{{\"type\":\"subscription.revoked\",{}", &text[1..]);
    t.signed("json-duplicate-keys", duplicate.as_bytes(), malformed());
    let deep = format!(
        "{{\"type\":\"subscription.active\",\"timestamp\":\"2026-11-22T10:00:00Z\",\"data\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    t.signed("json-deep-nesting", deep.as_bytes(), malformed());
    let strings = serde_json::to_vec(&numbers_as_strings(base)).expect("JSON");
    t.signed("json-numbers-as-strings", &strings, malformed());
    let nulled = serde_json::to_vec(&nulls(base)).expect("JSON");
    t.signed("json-nulls-everywhere", &nulled, malformed());
    t.signed("json-null", b"null", malformed());
    t.signed(
        "json-trailing-garbage",
        format!("{text}}}x").as_bytes(),
        malformed(),
    );

    // Envelope.
    let unknown = edit(base, "/type", Some("subscription.frozen".into()));
    t.signed(
        "type-unknown",
        &unknown,
        answer(200, "parked:unknown_event_type"),
    );
    t.signed("type-missing", &edit(base, "/type", None), malformed());
    t.signed(
        "type-not-a-string",
        &edit(base, "/type", Some(7.into())),
        malformed(),
    );
    t.signed("data-missing", &edit(base, "/data", None), malformed());
    t.signed(
        "data-a-string",
        &edit(base, "/data", Some("{}".into())),
        malformed(),
    );
    t.signed(
        "data-empty",
        &edit(base, "/data", Some(json!({}))),
        malformed(),
    );
    t.signed(
        "type-for-another-endpoint",
        other,
        answer(200, "parked:misrouted"),
    );

    // Identity.
    let no_external = edit(base, "/data/customer/external_id", None);
    let no_account = edit(
        &serde_json::from_slice(&no_external).expect("JSON"),
        "/data/metadata/accountId",
        None,
    );
    t.signed(
        "identity-missing",
        &no_account,
        answer(200, "parked:no_account"),
    );
    let mismatch = edit(
        base,
        "/data/metadata/accountId",
        Some("acct_local_2".into()),
    );
    t.signed(
        "identity-metadata-mismatch",
        &mismatch,
        answer(200, "parked:account_mismatch"),
    );
    let tenant: Value = serde_json::from_slice(&edit(
        base,
        "/data/customer/external_id",
        Some("acct_tenant_b_42".into()),
    ))
    .expect("JSON");
    let tenant = edit(
        &tenant,
        "/data/metadata/accountId",
        Some("acct_tenant_b_42".into()),
    );
    t.signed(
        "identity-another-tenant",
        &tenant,
        answer(200, "parked:unknown_account"),
    );
    let injected = edit(
        base,
        "/data/customer/external_id",
        Some("acct_local_1' OR '1'='1".into()),
    );
    t.signed("identity-not-an-account-id", &injected, malformed());

    // Product.
    let unknown = edit(base, "/data/product_id", Some("prod_unknown".into()));
    t.signed(
        "product-unknown",
        &unknown,
        answer(200, "parked:unknown_product"),
    );
    let archived = edit(base, "/data/product_id", Some("prod_local_pro_2024".into()));
    t.signed(
        "product-archived",
        &archived,
        answer(200, "parked:unknown_product"),
    );
    t.signed(
        "product-missing",
        &edit(base, "/data/product_id", None),
        malformed(),
    );

    // States and dates.
    let paused = edit(base, "/data/status", Some("frozen".into()));
    t.signed(
        "status-unknown",
        &paused,
        answer(200, "parked:unknown_enum"),
    );
    for (name, pointer, value) in [
        (
            "date-out-of-range",
            "/data/current_period_end",
            "+10000-01-01T00:00:00Z",
        ),
        (
            "date-impossible",
            "/data/current_period_end",
            "2026-02-30T10:00:00Z",
        ),
        ("date-not-a-date", "/data/modified_at", "tomorrow"),
        ("date-no-offset", "/data/modified_at", "2026-11-22T10:00:00"),
    ] {
        t.signed(name, &edit(base, pointer, Some(value.into())), malformed());
    }
    let inverted = edit(
        base,
        "/data/current_period_end",
        Some("2026-10-22T10:00:00Z".into()),
    );
    t.signed(
        "dates-period-inverted",
        &inverted,
        answer(200, "parked:out_of_range"),
    );
    // Polo leaves modified_at null until a subscription changes: the
    // snapshot falls back to created_at, older than the one applied.
    t.signed(
        "date-modified-at-missing-is-the-creation",
        &edit(base, "/data/modified_at", None),
        answer(200, "stale"),
    );
    t.signed(
        "date-created-at-missing",
        &edit(base, "/data/created_at", None),
        malformed(),
    );
    t.cases
}

/// Bodies of `order.paid` at the payment-succeeded endpoint.
/// `other` is a valid event of another endpoint (a `subscription.*`).
pub fn order(
    prefix: &str,
    path: &str,
    secret: &str,
    now: i64,
    base: &Value,
    other: &[u8],
) -> Vec<Case> {
    let mut t = Table::new(prefix, path, secret, now);
    let malformed = || answer(200, "parked:malformed");
    // A one-off order: nothing to apply, answered and completed.
    t.signed(
        "order-without-subscription-is-one-off",
        &edit(base, "/data/subscription_id", None),
        answer(200, "processed"),
    );
    let invalid = edit(
        base,
        "/data/subscription_id",
        Some("sub with spaces; drop".into()),
    );
    t.signed("order-subscription-id-invalid", &invalid, malformed());
    let refunded = edit(base, "/data/status", Some("refunded".into()));
    t.signed("order-not-paid", &refunded, answer(200, "processed"));
    let tenant = edit(
        base,
        "/data/customer/external_id",
        Some("acct_tenant_b_42".into()),
    );
    t.signed(
        "order-identity-not-the-subscriptions",
        &tenant,
        answer(200, "parked:account_mismatch"),
    );
    let unknown = edit(
        base,
        "/data/subscription_id",
        Some("sub_polo_never_made".into()),
    );
    t.signed(
        "order-subscription-unknown-to-polo",
        &unknown,
        answer(200, "parked:unknown_subscription"),
    );
    let status = edit(base, "/data/status", Some("exploded".into()));
    t.signed(
        "order-status-unknown",
        &status,
        answer(200, "parked:unknown_enum"),
    );
    let amount = edit(base, "/data/total_amount", Some("2900".into()));
    t.signed("order-amount-as-string", &amount, malformed());
    t.signed(
        "order-type-for-another-endpoint",
        other,
        answer(200, "parked:misrouted"),
    );
    t.signed(
        "order-data-missing",
        &edit(base, "/data", None),
        malformed(),
    );
    t.cases
}
