//! Who is asking: the account id comes only from the JWT authorizer's claims
//! (`ACCOUNT_ID_CLAIM`, default `sub`), never from the body or the query.

use super::answer::DashboardError;
use crate::domain::AccountId;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// The caller's account, or `unauthenticated`.
pub fn account_id(request: &Request, claim: &str) -> Result<AccountId, DashboardError> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return Err(DashboardError::Unauthenticated(
            "not an API Gateway HTTP API request",
        ));
    };
    let raw = context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .and_then(|jwt| jwt.claims.get(claim))
        .ok_or(DashboardError::Unauthenticated(
            "the account claim is absent",
        ))?;
    AccountId::parse(raw.trim())
        .map_err(|_| DashboardError::Unauthenticated("the account claim is not an account id"))
}
