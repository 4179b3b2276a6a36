//! The per-event CPU floor for the cold-start harness: a `lambda_http`
//! function (current-thread runtime, like ours) that makes exactly the
//! round trips a warm webhook makes — a conditional DynamoDB PutItem (the
//! claim), a signed Convex read, a DynamoDB UpdateItem (the completion) —
//! with one keep-alive reqwest client and nothing else: no verification,
//! parsing, SigV4, SDK, logs or metrics. What ours spends above it is ours
//! to cut; what it spends is the price of the round trips on this machine.
//! `FLOOR_CLIENT=hyper` makes all three calls with a bare hyper client
//! (hyper-util's pooled client, the one the Lambda runtime itself uses)
//! instead of reqwest, the leanest HTTP/1 client there is.
//! `FLOOR_DYNAMODB=sdk` makes the two DynamoDB calls through the AWS SDK
//! (configured as our functions configure it) instead, which prices the SDK.
//! `FLOOR_DYNAMODB=sdk-inbox` sends through the SDK the two requests the
//! webhook inbox sends (issue 16): the claim an UpdateItem writing the same
//! attributes, the delivery's body as its payload, under the same
//! condition, returning the old item; the completion an UpdateItem that
//! sets the same two and removes the open record's six, held by the
//! claim's token. The same bytes on the wire, none of our logic.
//! Needs AWS_ENDPOINT_URL_DYNAMODB, IDEMPOTENCY_TABLE, CONVEX_SITE_URL and
//! CONVEX_SIGNING_SECRET (the harness sets them).

use billing::secrets::SecretString;
use lambda_http::{service_fn, Error, Request, Response};
use std::sync::atomic::{AtomicU64, Ordering};

/// moto reads the region from here; nothing checks the signature.
const MOTO_AUTHORIZATION: &str =
    "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/dynamodb/aws4_request, \
     SignedHeaders=host;x-amz-date;x-amz-target, Signature=0";

type Hyper = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

/// The HTTP client every raw call goes through (`FLOOR_CLIENT`).
enum Http {
    Reqwest(reqwest::Client),
    Hyper(Box<Hyper>),
}

impl Http {
    /// One POST, the response read to its end.
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<(), Error> {
        match self {
            Http::Reqwest(client) => {
                let mut request = client.post(url).body(body);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                request.send().await?.bytes().await?;
            }
            Http::Hyper(client) => {
                use http_body_util::BodyExt;
                let mut request = http::Request::post(url);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let body = http_body_util::Full::new(bytes::Bytes::from(body));
                let response = client.request(request.body(body)?).await?;
                response.into_body().collect().await?;
            }
        }
        Ok(())
    }
}

struct Floor {
    http: Http,
    /// `FLOOR_DYNAMODB=sdk`: the DynamoDB calls through the AWS SDK.
    sdk: Option<aws_sdk_dynamodb::Client>,
    /// `FLOOR_DYNAMODB=sdk-inbox`: the SDK calls carry the inbox's records.
    inbox: bool,
    dynamodb: String,
    table: String,
    convex: String,
    secret: SecretString,
    next: AtomicU64,
}

impl Floor {
    /// A raw DynamoDB JSON call (`target`: PutItem, UpdateItem).
    async fn dynamodb(&self, target: &str, body: String) -> Result<(), Error> {
        let headers = vec![
            ("x-amz-target", format!("DynamoDB_20120810.{target}")),
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("authorization", MOTO_AUTHORIZATION.to_owned()),
        ];
        self.http
            .post(&self.dynamodb, headers, body.into_bytes())
            .await
    }

    async fn claim(&self, pk: &str, payload: &[u8]) -> Result<(), Error> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        let Some(sdk) = &self.sdk else {
            let table = &self.table;
            let body = format!(
                r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"{pk}"}},"status":{{"S":"IN_PROGRESS"}}}},"ConditionExpression":"attribute_not_exists(pk)"}}"#
            );
            return self.dynamodb("PutItem", body).await;
        };
        if self.inbox {
            return inbox_claim(sdk, &self.table, pk, payload).await;
        }
        sdk.put_item()
            .table_name(&self.table)
            .item("pk", S(pk.to_owned()))
            .item("status", S("IN_PROGRESS".to_owned()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await?;
        Ok(())
    }

    async fn read_account(&self) -> Result<(), Error> {
        let body = br#"{"accountId":"acct_local_1"}"#;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let mut headers = vec![("content-type", "application/json".to_owned())];
        headers.extend(billing::signing::route_signature_headers(
            &self.secret,
            "POST",
            "/billing/v1/accounts/get",
            body,
            now,
        )?);
        let url = format!("{}/billing/v1/accounts/get", self.convex);
        self.http.post(&url, headers, body.to_vec()).await
    }

    async fn complete(&self, pk: &str) -> Result<(), Error> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        let Some(sdk) = &self.sdk else {
            let table = &self.table;
            let body = format!(
                r##"{{"TableName":"{table}","Key":{{"pk":{{"S":"{pk}"}}}},"UpdateExpression":"SET #s = :c","ExpressionAttributeNames":{{"#s":"status"}},"ExpressionAttributeValues":{{":c":{{"S":"COMPLETED"}}}}}}"##
            );
            return self.dynamodb("UpdateItem", body).await;
        };
        if self.inbox {
            return inbox_complete(sdk, &self.table, pk).await;
        }
        sdk.update_item()
            .table_name(&self.table)
            .key("pk", S(pk.to_owned()))
            .update_expression("SET #s = :c")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":c", S("COMPLETED".to_owned()))
            .send()
            .await?;
        Ok(())
    }

    async fn event(&self, payload: &[u8]) -> Result<(), Error> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let pk = format!("floor#{}#{n}", std::process::id());
        self.claim(&pk, payload).await?;
        self.read_account().await?;
        self.complete(&pk).await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let http = if std::env::var("FLOOR_CLIENT").is_ok_and(|v| v == "hyper") {
        let executor = hyper_util::rt::TokioExecutor::new();
        Http::Hyper(Box::new(
            hyper_util::client::legacy::Client::builder(executor).build_http(),
        ))
    } else {
        Http::Reqwest(reqwest::Client::new())
    };
    let mode = std::env::var("FLOOR_DYNAMODB").unwrap_or_default();
    let inbox = mode == "sdk-inbox";
    let sdk = if mode == "sdk" || inbox {
        let config = billing::aws::sdk_config().await?;
        Some(aws_sdk_dynamodb::Client::new(&config))
    } else {
        None
    };
    let floor = Floor {
        http,
        sdk,
        inbox,
        dynamodb: var("AWS_ENDPOINT_URL_DYNAMODB")?,
        table: var("IDEMPOTENCY_TABLE")?,
        convex: var("CONVEX_SITE_URL")?,
        secret: SecretString::new(var("CONVEX_SIGNING_SECRET")?),
        next: AtomicU64::new(0),
    };
    let floor = &floor;
    lambda_http::run(service_fn(move |request: Request| async move {
        floor.event(request.body().as_ref()).await?;
        Ok::<_, Error>(Response::new(lambda_http::Body::Text("ok".into())))
    }))
    .await
}

/// A fixed claim token and lease: the inbox's values have these sizes.
const TOKEN: &str = "floor0000000000000000000000000000";
const LEASE_MS: &str = "1798761600000";

/// The inbox's claim (shared/src/idempotency/dynamodb/store.rs `claim`),
/// attribute for attribute.
async fn inbox_claim(
    sdk: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    payload: &[u8],
) -> Result<(), Error> {
    use aws_sdk_dynamodb::types::AttributeValue::{B, N, S};
    use aws_sdk_dynamodb::types::ReturnValue;
    let s = |v: &str| S(v.to_owned());
    let names = [
        ("#a0", "status"),
        ("#a1", "claimToken"),
        ("#a2", "leaseExpiresAt"),
        ("#a3", "inbox"),
        ("#a4", "dueAt"),
        ("#a5", "bodyHash"),
        ("#a6", "endpoint"),
        ("#a7", "webhookId"),
        ("#a8", "verification"),
        ("#a9", "receivedAt"),
        ("#a10", "payload"),
        ("#a11", "attempts"),
        ("#a12", "nextAttemptAt"),
        ("#a13", "eventType"),
        ("#a14", "accountId"),
        ("#a15", "pk"),
    ];
    let hash = "0".repeat(64);
    let values = [
        (":v0", s("IN_PROGRESS")),
        (":v1", s(TOKEN)),
        (":v2", N(LEASE_MS.to_owned())),
        (":v3", s("OPEN")),
        (":v4", N(LEASE_MS.to_owned())),
        (":v5", s(&hash)),
        (":v6", s("subscription-updated")),
        (":v7", s(pk)),
        (":v8", s("current secret, raw key")),
        (":v9", N(LEASE_MS.to_owned())),
        (":v10", B(payload.to_vec().into())),
        (":v11", N("0".to_owned())),
        (":v13", s("subscription.updated")),
        (":v14", s("acct_local_1")),
        (":same_hash", s(&hash)),
        (":pending", s("PENDING")),
        (":in_progress", s("IN_PROGRESS")),
        (":now", N(LEASE_MS.to_owned())),
    ];
    let mut update = sdk
        .update_item()
        .table_name(table)
        .key("pk", s(pk))
        .update_expression(
            "SET #a0 = :v0, #a1 = :v1, #a2 = :v2, #a3 = :v3, #a4 = :v4, #a5 = :v5, \
             #a6 = :v6, #a7 = :v7, #a8 = :v8, #a9 = if_not_exists(#a9, :v9), \
             #a10 = if_not_exists(#a10, :v10), #a11 = if_not_exists(#a11, :v11), \
             #a13 = :v13, #a14 = :v14 REMOVE #a12",
        )
        .condition_expression(
            "attribute_not_exists(#a15) OR (#a5 = :same_hash AND (#a0 = :pending \
             OR (#a0 = :in_progress AND #a2 < :now)))",
        )
        .return_values(ReturnValue::AllOld);
    for (placeholder, name) in names {
        update = update.expression_attribute_names(placeholder, name);
    }
    for (placeholder, value) in values {
        update = update.expression_attribute_values(placeholder, value);
    }
    update.send().await?;
    Ok(())
}

/// The inbox's completion (`complete`): COMPLETED with a TTL, the open
/// record's attributes and the payload removed, held by the claim's token.
async fn inbox_complete(
    sdk: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> Result<(), Error> {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    sdk.update_item()
        .table_name(table)
        .key("pk", S(pk.to_owned()))
        .update_expression("SET #a0 = :v0, #a1 = :v1 REMOVE #a2, #a3, #a4, #a5, #a6, #a8")
        .condition_expression("#a2 = :held")
        .expression_attribute_names("#a0", "status")
        .expression_attribute_names("#a1", "ttl")
        .expression_attribute_names("#a2", "claimToken")
        .expression_attribute_names("#a3", "leaseExpiresAt")
        .expression_attribute_names("#a4", "nextAttemptAt")
        .expression_attribute_names("#a5", "inbox")
        .expression_attribute_names("#a6", "dueAt")
        .expression_attribute_names("#a8", "payload")
        .expression_attribute_values(":v0", S("COMPLETED".to_owned()))
        .expression_attribute_values(":v1", N("1800000000".to_owned()))
        .expression_attribute_values(":held", S(TOKEN.to_owned()))
        .send()
        .await?;
    Ok(())
}
