//! The legacy PayPal client credentials (`PAYPAL_SECRET_ARN`): one JSON
//! object `{clientId, clientSecret}`, read only by `provisioning-sync`.

use super::{SecretError, SecretId, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct PaypalCredentials {
    pub client_id: SecretString,
    pub client_secret: SecretString,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    client_id: Option<String>,
    client_secret: Option<String>,
}

impl PaypalCredentials {
    pub fn parse(value: &SecretString) -> Result<Self, SecretError> {
        let malformed = |problem| SecretError::Malformed {
            id: SecretId::Paypal,
            problem,
        };
        // serde's message could quote the value: only its absence is reported.
        let raw: Raw = serde_json::from_str(value.expose())
            .map_err(|_| malformed("it is not a JSON object of strings"))?;
        Ok(Self {
            client_id: SecretString::new(raw.client_id.ok_or(malformed("clientId is missing"))?),
            client_secret: SecretString::new(
                raw.client_secret
                    .ok_or(malformed("clientSecret is missing"))?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_credentials_parse_and_a_missing_field_is_named_without_values() {
        let ok = PaypalCredentials::parse(&SecretString::new(
            r#"{"clientId":"paypal-id","clientSecret":"paypal-secret"}"#,
        ))
        .unwrap();
        assert_eq!(ok.client_id.expose(), "paypal-id");
        assert_eq!(ok.client_secret.expose(), "paypal-secret");

        let err = PaypalCredentials::parse(&SecretString::new(r#"{"clientId":"hidden-id"}"#))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret paypal is malformed: clientSecret is missing"
        );
        let err = PaypalCredentials::parse(&SecretString::new("hidden-not-json")).unwrap_err();
        assert!(!err.to_string().contains("hidden"));
    }
}
