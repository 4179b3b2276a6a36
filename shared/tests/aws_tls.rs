//! The AWS SDK's HTTPS client (`billing::aws`) verifies certificates against
//! the compiled-in Mozilla roots: an endpoint whose certificate chains to
//! none of them (here a self-signed `localhost`, tests/fixtures/tls) is
//! refused during the handshake, and no request reaches it.

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/tls")
        .join(name)
}

/// A TLS server for `localhost` with the self-signed fixture certificate;
/// counts the handshakes that completed.
async fn self_signed_server() -> (u16, Arc<AtomicUsize>) {
    let certs = CertificateDer::pem_file_iter(fixture("localhost.crt"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("localhost.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let completed = Arc::new(AtomicUsize::new(0));
    let count = completed.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if acceptor.accept(tcp).await.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (port, completed)
}

#[tokio::test]
async fn a_dynamodb_endpoint_with_a_certificate_from_no_trusted_root_is_refused() {
    let (port, completed) = self_signed_server().await;
    let sdk = billing::aws::sdk_config().await.unwrap();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(format!("https://localhost:{port}"))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();

    let refused = aws_sdk_dynamodb::Client::from_conf(config)
        .get_item()
        .table_name("idempotency")
        .key("pk", AttributeValue::S("evt#1".into()))
        .send()
        .await
        .unwrap_err();

    let chain = billing::telemetry::error_chain(&refused);
    assert!(chain.contains("UnknownIssuer"), "{chain}");
    assert_eq!(
        completed.load(Ordering::SeqCst),
        0,
        "no handshake completed"
    );
}
