//! The AWS SDK's shared configuration (DynamoDB, Secrets Manager). Its
//! HTTPS client trusts the compiled-in Mozilla roots — the same set
//! `SecureHttp` trusts — instead of the SDK default, which reads the
//! platform's whole certificate store while the client is built: that read
//! was about 3 ms of a 5.5 ms cold start (docs/BENCHMARKS.md). Everything
//! else is the SDK default: rustls with aws-lc, the proxy from the
//! environment, the runtime's sleep and connector settings.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use base64::Engine as _;

/// Why the SDK's HTTPS client could not be built (a bad root certificate
/// set: a build problem, never a runtime one).
#[derive(Debug, thiserror::Error)]
#[error("the AWS SDK's TLS trust store could not be built")]
pub struct AwsTlsError(#[source] aws_smithy_http_client::HttpClientError);

/// The Mozilla roots as one PEM document (the SDK takes PEM only).
fn mozilla_roots_pem() -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        pem.push_str(&b64.encode(cert.as_ref()));
        pem.push_str("\n-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// Loads the SDK configuration from the environment (region, credentials,
/// endpoint overrides) with the HTTPS client above.
pub async fn sdk_config() -> Result<aws_config::SdkConfig, AwsTlsError> {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(mozilla_roots_pem());
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(AwsTlsError)?;
    let client = Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(tls.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(client)
        .load()
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    #[test]
    fn every_mozilla_root_survives_the_pem_round_trip_into_a_root_store() {
        let pem = mozilla_roots_pem();

        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let mut store = rustls::RootCertStore::empty();
        let (added, refused) = store.add_parsable_certificates(certs.clone());

        assert_eq!(certs.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(certs.len() > 100, "{} roots", certs.len());
        assert_eq!((added, refused), (certs.len(), 0));
        assert!(certs
            .iter()
            .zip(webpki_root_certs::TLS_SERVER_ROOT_CERTS)
            .all(|(ours, theirs)| ours.as_ref() == theirs.as_ref()));
    }
}
