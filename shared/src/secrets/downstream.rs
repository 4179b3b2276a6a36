//! The downstream secret (`DOWNSTREAM_SECRET_ARN`): one JSON object holding
//! the Convex signing secret, the provisioning signing secret and the legacy
//! PayPal client credentials.

use super::{SecretError, SecretId, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct DownstreamSecrets {
    pub convex_signing: SecretString,
    pub provisioning_signing: SecretString,
    pub paypal_client_id: Option<SecretString>,
    pub paypal_client_secret: Option<SecretString>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    convex_signing_secret: Option<String>,
    provisioning_signing_secret: Option<String>,
    paypal_client_id: Option<String>,
    paypal_client_secret: Option<String>,
}

impl DownstreamSecrets {
    pub fn parse(value: &SecretString) -> Result<Self, SecretError> {
        let malformed = |problem| SecretError::Malformed {
            id: SecretId::Downstream,
            problem,
        };
        // serde's message could quote the value: only its absence is reported.
        let raw: Raw = serde_json::from_str(value.expose())
            .map_err(|_| malformed("it is not a JSON object of strings"))?;
        Ok(Self {
            convex_signing: SecretString::new(
                raw.convex_signing_secret
                    .ok_or(malformed("convexSigningSecret is missing"))?,
            ),
            provisioning_signing: SecretString::new(
                raw.provisioning_signing_secret
                    .ok_or(malformed("provisioningSigningSecret is missing"))?,
            ),
            paypal_client_id: raw.paypal_client_id.map(SecretString::new),
            paypal_client_secret: raw.paypal_client_secret.map(SecretString::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_secret_parses_and_a_missing_field_is_named_without_values() {
        let ok = DownstreamSecrets::parse(&SecretString::new(
            r#"{"convexSigningSecret":"whsec_a","provisioningSigningSecret":"whsec_b"}"#,
        ))
        .unwrap();
        assert_eq!(ok.convex_signing.expose(), "whsec_a");
        assert!(ok.paypal_client_id.is_none());
        let err = DownstreamSecrets::parse(&SecretString::new(
            r#"{"convexSigningSecret":"whsec_hidden"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret downstream is malformed: provisioningSigningSecret is missing"
        );
        let err =
            DownstreamSecrets::parse(&SecretString::new("whsec_hidden-not-json")).unwrap_err();
        assert!(!err.to_string().contains("hidden"));
    }
}
