//! Creating what the API creates — checkouts, customers, customer sessions
//! — with polo-api.md's validation (each refusal names its field).

use super::lifecycle::Refusal;
use super::model::{
    new_id, new_token, Checkout, CheckoutStatus, Customer, Interval, Metadata, Session, State,
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// A checkout expires an hour after it is created.
pub const CHECKOUT_LIFETIME: Duration = Duration::hours(1);
/// A customer-portal link is short-lived.
pub const SESSION_LIFETIME: Duration = Duration::hours(1);

/// `POST /v1/checkouts/` (unknown fields are refused, naming them).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutCreate {
    pub products: Vec<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub external_customer_id: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub success_url: Option<String>,
    #[serde(default)]
    pub return_url: Option<String>,
    #[serde(default)]
    pub embed_origin: Option<String>,
    #[serde(default)]
    pub allow_trial: Option<bool>,
    #[serde(default)]
    pub trial_interval: Option<Interval>,
    #[serde(default)]
    pub trial_interval_count: Option<u32>,
}

/// `POST /v1/customers/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerCreate {
    #[serde(default)]
    pub external_id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// `POST /v1/customer-sessions/`: one of the two customer references.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionCreate {
    #[serde(default)]
    pub external_customer_id: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub return_url: Option<String>,
}

fn invalid(field: &str, problem: &str) -> Refusal {
    Refusal::Invalid(field.to_owned(), problem.to_owned())
}

/// polo-api.md: at most 50 keys, keys up to 40 characters, values up to 500.
fn check_metadata(metadata: &Metadata) -> Result<(), Refusal> {
    if metadata.len() > 50 {
        return Err(invalid("metadata", "more than 50 keys"));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.chars().count() > 40 {
            return Err(invalid(
                "metadata",
                "a key is empty or longer than 40 characters",
            ));
        }
        let long = match value {
            serde_json::Value::String(s) => s.chars().count() > 500,
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => false,
            _ => {
                return Err(invalid(
                    "metadata",
                    "values must be strings, numbers or booleans",
                ))
            }
        };
        if long {
            return Err(invalid("metadata", "a value is longer than 500 characters"));
        }
    }
    Ok(())
}

fn check_url(field: &str, raw: Option<&str>) -> Result<(), Refusal> {
    match raw {
        None => Ok(()),
        Some(raw) => {
            // `{CHECKOUT_ID}` is a placeholder Polo fills in: not part of the URL yet.
            let candidate = raw.replace("{CHECKOUT_ID}", "placeholder");
            match url::Url::parse(&candidate) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
                _ => Err(invalid(field, "not an http(s) URL")),
            }
        }
    }
}

impl State {
    pub fn create_checkout(
        &mut self,
        request: CheckoutCreate,
        now: OffsetDateTime,
    ) -> Result<String, Refusal> {
        let product_id = request
            .products
            .first()
            .cloned()
            .ok_or_else(|| invalid("products", "at least one product is required"))?;
        for id in &request.products {
            match self.product(id) {
                Some(p) if !p.is_archived => {}
                Some(_) => return Err(invalid("products", "an archived product cannot be sold")),
                None => return Err(invalid("products", "no such product")),
            }
        }
        check_metadata(&request.metadata)?;
        check_url("success_url", request.success_url.as_deref())?;
        check_url("return_url", request.return_url.as_deref())?;
        let trial = match (request.trial_interval, request.trial_interval_count) {
            (Some(interval), Some(count)) if (1..=1000).contains(&count) => Some((interval, count)),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "trial_interval_count",
                    "must be between 1 and 1000",
                ))
            }
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "trial_interval",
                    "trial_interval and trial_interval_count go together",
                ))
            }
        };
        let customer_id = match request.customer_id {
            Some(id) if self.customers.contains_key(&id) => Some(id),
            Some(_) => return Err(invalid("customer_id", "no such customer")),
            None => None,
        };
        let created = self.stamp(now);
        let checkout = Checkout {
            id: new_id(),
            client_secret: new_token("polo_c_"),
            status: CheckoutStatus::Open,
            products: request.products,
            product_id,
            metadata: request.metadata,
            external_customer_id: request.external_customer_id,
            customer_id,
            customer_email: request.customer_email,
            success_url: request.success_url,
            return_url: request.return_url,
            embed_origin: request.embed_origin,
            allow_trial: request.allow_trial.unwrap_or(true),
            trial,
            subscription_id: None,
            expires_at: created + CHECKOUT_LIFETIME,
            created_at: created,
            modified_at: None,
        };
        let id = checkout.id.clone();
        self.checkouts.insert(id.clone(), checkout);
        Ok(id)
    }

    pub fn create_customer(
        &mut self,
        request: CustomerCreate,
        now: OffsetDateTime,
    ) -> Result<String, Refusal> {
        if !request.email.contains('@') {
            return Err(invalid("email", "not an email address"));
        }
        check_metadata(&request.metadata)?;
        if let Some(external) = request.external_id.as_deref() {
            if self.customer_by_external(external).is_some() {
                return Err(Refusal::Conflict(
                    "a customer with this external_id already exists".into(),
                ));
            }
        }
        let customer = Customer {
            id: new_id(),
            external_id: request.external_id,
            email: request.email,
            name: request.name,
            metadata: request.metadata,
            created_at: self.stamp(now),
        };
        let id = customer.id.clone();
        self.insert_customer(customer);
        Ok(id)
    }

    /// A portal session; its URL carries the token.
    pub fn create_session(
        &mut self,
        request: SessionCreate,
        now: OffsetDateTime,
    ) -> Result<Session, Refusal> {
        let customer = match (&request.customer_id, &request.external_customer_id) {
            (Some(id), None) => self.customers.get(id),
            (None, Some(external)) => self.customer_by_external(external),
            _ => {
                return Err(invalid(
                    "customer_id",
                    "exactly one of customer_id and external_customer_id is required",
                ))
            }
        }
        .ok_or(Refusal::NotFound("customer"))?;
        check_url("return_url", request.return_url.as_deref())?;
        let session = Session {
            id: new_id(),
            token: new_token("polo_cst_"),
            customer_id: customer.id.clone(),
            return_url: request.return_url,
            expires_at: now + SESSION_LIFETIME,
        };
        self.sessions.insert(session.token.clone(), session.clone());
        Ok(session)
    }

    /// The live session a portal token stands for.
    pub fn session(&self, token: &str, now: OffsetDateTime) -> Option<&Session> {
        self.sessions.get(token).filter(|s| now < s.expires_at)
    }
}
