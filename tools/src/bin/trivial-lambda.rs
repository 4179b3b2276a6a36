//! The cold-start baseline: the smallest `lambda_http` function (answers
//! 200 to anything). The harness measures it in the same run as ours.

use lambda_http::{service_fn, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(lambda_http::Body::Text("ok".into())))
    }))
    .await
}
