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

    async fn claim(&self, pk: &str) -> Result<(), Error> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        let Some(sdk) = &self.sdk else {
            let table = &self.table;
            let body = format!(
                r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"{pk}"}},"status":{{"S":"IN_PROGRESS"}}}},"ConditionExpression":"attribute_not_exists(pk)"}}"#
            );
            return self.dynamodb("PutItem", body).await;
        };
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

    async fn event(&self) -> Result<(), Error> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let pk = format!("floor#{}#{n}", std::process::id());
        self.claim(&pk).await?;
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
    let sdk = if std::env::var("FLOOR_DYNAMODB").is_ok_and(|v| v == "sdk") {
        let config = billing::aws::sdk_config().await?;
        Some(aws_sdk_dynamodb::Client::new(&config))
    } else {
        None
    };
    let floor = Floor {
        http,
        sdk,
        dynamodb: var("AWS_ENDPOINT_URL_DYNAMODB")?,
        table: var("IDEMPOTENCY_TABLE")?,
        convex: var("CONVEX_SITE_URL")?,
        secret: SecretString::new(var("CONVEX_SIGNING_SECRET")?),
        next: AtomicU64::new(0),
    };
    let floor = &floor;
    lambda_http::run(service_fn(move |_request: Request| async move {
        floor.event().await?;
        Ok::<_, Error>(Response::new(lambda_http::Body::Text("ok".into())))
    }))
    .await
}
