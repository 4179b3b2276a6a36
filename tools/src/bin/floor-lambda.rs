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

struct Floor {
    http: reqwest::Client,
    hyper: Option<Hyper>,
    dynamodb: String,
    table: String,
    convex: String,
    secret: SecretString,
    next: AtomicU64,
    sdk: Option<aws_sdk_dynamodb::Client>,
}

impl Floor {
    async fn sdk_put(&self, sdk: &aws_sdk_dynamodb::Client, pk: &str) -> Result<(), Error> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        sdk.put_item()
            .table_name(&self.table)
            .item("pk", S(pk.to_owned()))
            .item("status", S("IN_PROGRESS".to_owned()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await?;
        Ok(())
    }

    async fn sdk_update(&self, sdk: &aws_sdk_dynamodb::Client, pk: &str) -> Result<(), Error> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
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

    /// One POST through hyper, the response read to its end.
    async fn hyper_post(
        &self,
        hyper: &Hyper,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<(), Error> {
        use http_body_util::BodyExt;
        let mut request = http::Request::post(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = hyper
            .request(request.body(http_body_util::Full::new(bytes::Bytes::from(body)))?)
            .await?;
        response.into_body().collect().await?;
        Ok(())
    }

    async fn dynamodb(&self, target: &str, body: String) -> Result<(), Error> {
        if let Some(hyper) = &self.hyper {
            let headers = vec![
                ("x-amz-target", format!("DynamoDB_20120810.{target}")),
                ("content-type", "application/x-amz-json-1.0".to_owned()),
                ("authorization", MOTO_AUTHORIZATION.to_owned()),
            ];
            return self
                .hyper_post(hyper, &self.dynamodb, headers, body.into_bytes())
                .await;
        }
        self.http
            .post(&self.dynamodb)
            .header("x-amz-target", format!("DynamoDB_20120810.{target}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", MOTO_AUTHORIZATION)
            .body(body)
            .send()
            .await?
            .bytes()
            .await?;
        Ok(())
    }

    async fn event(&self) -> Result<(), Error> {
        let pk = format!(
            "floor#{}#{}",
            std::process::id(),
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let table = &self.table;
        if let Some(sdk) = &self.sdk {
            self.sdk_put(sdk, &pk).await?;
        } else {
            self.dynamodb(
            "PutItem",
            format!(
                r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"{pk}"}},"status":{{"S":"IN_PROGRESS"}}}},"ConditionExpression":"attribute_not_exists(pk)"}}"#
            ),
        )
        .await?;
        }
        let body = br#"{"accountId":"acct_local_1"}"#;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let url = format!("{}/billing/v1/accounts/get", self.convex);
        let signed = billing::signing::signature_headers(&self.secret, body, now)?;
        if let Some(hyper) = &self.hyper {
            let mut headers = vec![("content-type", "application/json".to_owned())];
            headers.extend(signed);
            self.hyper_post(hyper, &url, headers, body.to_vec()).await?;
        } else {
            let mut read = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(&body[..]);
            for (name, value) in signed {
                read = read.header(name, value);
            }
            read.send().await?.bytes().await?;
        }
        if let Some(sdk) = &self.sdk {
            return self.sdk_update(sdk, &pk).await;
        }
        self.dynamodb(
            "UpdateItem",
            format!(
                r##"{{"TableName":"{table}","Key":{{"pk":{{"S":"{pk}"}}}},"UpdateExpression":"SET #s = :c","ExpressionAttributeNames":{{"#s":"status"}},"ExpressionAttributeValues":{{":c":{{"S":"COMPLETED"}}}}}}"##
            ),
        )
        .await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let floor = Floor {
        http: reqwest::Client::new(),
        hyper: std::env::var("FLOOR_CLIENT")
            .is_ok_and(|v| v == "hyper")
            .then(|| {
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http()
            }),
        dynamodb: var("AWS_ENDPOINT_URL_DYNAMODB")?,
        table: var("IDEMPOTENCY_TABLE")?,
        convex: var("CONVEX_SITE_URL")?,
        secret: SecretString::new(var("CONVEX_SIGNING_SECRET")?),
        next: AtomicU64::new(0),
        sdk: if std::env::var("FLOOR_DYNAMODB").is_ok_and(|v| v == "sdk") {
            Some(aws_sdk_dynamodb::Client::new(
                &billing::aws::sdk_config().await?,
            ))
        } else {
            None
        },
    };
    let floor = &floor;
    lambda_http::run(service_fn(move |_request: Request| async move {
        floor.event().await?;
        Ok::<_, Error>(Response::new(lambda_http::Body::Text("ok".into())))
    }))
    .await
}
