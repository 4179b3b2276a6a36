//! What Convex answers, decoded: the bodies of its successful answers and
//! the classification of its refusals into [`AccountStoreError`]. Pure (no
//! I/O), so the fuzz target `convex_answers` drives exactly what the
//! adapter runs on every answer.

use crate::accounts::{AccountPage, AccountStoreError};
use crate::domain::{AccountBilling, AccountId};
use crate::http::{FetchError, FetchResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "currentVersion")]
    current_version: Option<u64>,
}

/// A refusal that is not about the request's content (see [`decode`]).
#[derive(Debug)]
struct Refused {
    status: u16,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            401 | 403 => write!(
                f,
                "Convex refused our signature (HTTP {}): is the Convex signing secret the deployment's?",
                self.status
            ),
            404 => f.write_str("HTTP 404 without Convex's error body: is CONVEX_SITE_URL right?"),
            429 => f.write_str("Convex throttled the call (HTTP 429)"),
            status => write!(f, "Convex refused the call: HTTP {status} without an error body"),
        }
    }
}

impl std::error::Error for Refused {}

/// `accounts/get`.
#[derive(Deserialize)]
pub struct AccountBody {
    pub account: AccountBilling,
}

/// `accounts/acknowledge-provisioning`.
#[derive(Deserialize)]
pub struct AcknowledgedBody {
    pub recorded: bool,
}

/// The account-listing calls.
#[derive(Deserialize)]
pub struct AccountsBody {
    accounts: Vec<AccountBilling>,
    cursor: Option<String>,
}

impl From<AccountsBody> for AccountPage {
    fn from(body: AccountsBody) -> Self {
        AccountPage {
            accounts: body.accounts,
            cursor: body.cursor,
        }
    }
}

/// `accounts/polo-subscribers`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBody {
    pub account_ids: Vec<AccountId>,
    pub cursor: Option<String>,
}

/// One answer of Convex as the adapter reads it. Only two refusals are
/// about the request's content: the account does not exist (a property of
/// the event), and a lost compare-and-set (re-read and retry). A refusal in
/// our own error body names what our request got wrong (`Rejected`: a bug
/// on our side, which the webhook path retries like an outage). 401/403 (a
/// rotated or wrong signing secret), 404 without our body (a wrong
/// CONVEX_SITE_URL), 429 and bodiless refusals are an operator's problem or
/// Convex's: `Unavailable`.
pub fn decode<T: DeserializeOwned>(
    answer: Result<FetchResponse, FetchError>,
    expected_version: Option<u64>,
) -> Result<T, AccountStoreError> {
    match answer {
        Ok(response) => response
            .json()
            .map_err(|e| AccountStoreError::Unavailable(Box::new(e))),
        Err(FetchError::Status { status, body, .. }) if (400..500).contains(&status) => {
            let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
            Err(match (status, parsed) {
                (404, Some(b)) if b.error == "account_not_found" => AccountStoreError::NotFound,
                (409, Some(b)) if b.error == "version_conflict" => AccountStoreError::Conflict {
                    expected: expected_version.unwrap_or_default(),
                    current: b.current_version,
                },
                (401 | 403 | 404 | 429, _) | (_, None) => {
                    AccountStoreError::Unavailable(Box::new(Refused { status }))
                }
                (_, Some(b)) => AccountStoreError::Rejected(format!(
                    "HTTP {status} {}: {}",
                    b.error,
                    b.detail.unwrap_or_default()
                )),
            })
        }
        Err(err) => Err(AccountStoreError::Unavailable(Box::new(err))),
    }
}
