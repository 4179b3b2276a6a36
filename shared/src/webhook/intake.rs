//! The intake pipeline. Order matters: the size check and the signature come
//! before anything is parsed or stored, so an unauthenticated request costs
//! no store call. A verified delivery is answered 200 only once completed or
//! parked, and 202 once its claim (which stores the payload) has landed and
//! a downstream fault left it to the inbox: nothing Polo stops retrying is
//! lost, and only DynamoDB being down answers 503.

use super::answer::Answer;
use super::inbox::{self, Finished};
use super::keys::{KeysError, WebhookKeys};
use super::{DeliveryContext, EventHandler, Handled};
use crate::clock::Clock;
use crate::idempotency::{
    BodyHash, Claim, ClaimOutcome, Delivery, IdempotencyRecord, IdempotencyStore, ParkCode,
    ParkOutcome, ParkReason, RecordKey, RecordStatus,
};
use crate::polo::events::{parse_event, ParseError, PoloEvent};
use crate::polo::routing::Endpoint;
use crate::polo::verifier::{self, SignatureHeaders, Verified, VerifyError};
use crate::telemetry::{error_chain, take_cold_start, MetricSink};
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tracing::{error, info, warn, Instrument};

/// Polo's payloads are small; anything larger is refused before reading it.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How long a claim holds when the invocation carries no deadline (a
/// hand-built request): the webhook functions' timeout less the answer's
/// margin, the same 9 s everywhere a claim is made.
pub const DEFAULT_LEASE: Duration = Duration::seconds(9);

/// Everything one webhook function needs, built once at cold start.
pub struct Intake {
    pub endpoint: Endpoint,
    pub store: Arc<dyn IdempotencyStore>,
    pub keys: Arc<WebhookKeys>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricSink>,
    pub handler: Arc<dyn EventHandler>,
    /// The claim lease when no Lambda deadline is known (the local server).
    pub fallback_lease: Duration,
}

impl Intake {
    /// Answers one delivery. Never fails: every outcome is an HTTP answer.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let context = request.lambda_context_ref();
        let request_id = context.map(|c| c.request_id.clone()).unwrap_or_default();
        let deadline_ms = context.map(|c| c.deadline).unwrap_or(0);
        let span = tracing::info_span!(
            "webhook",
            request_id = %request_id,
            function = self.endpoint.function_name(),
            cold_start = take_cold_start(),
            webhook_id = tracing::field::Empty,
            event_type = tracing::field::Empty,
            account_id = tracing::field::Empty,
        );
        let answer = self
            .answer(request, deadline_ms)
            .instrument(span.clone())
            .await;
        span.in_scope(|| {
            self.metrics.count(
                "WebhookOutcome",
                &[
                    ("Function", self.endpoint.function_name()),
                    ("Outcome", answer.outcome()),
                ],
            );
            info!(
                status = answer.status(),
                outcome = answer.outcome(),
                "webhook answered"
            );
        });
        answer.into_response()
    }

    async fn answer(&self, request: Request, deadline_ms: u64) -> Answer {
        let (parts, body) = request.into_parts();
        let body: &[u8] = body.as_ref();
        if body.len() > MAX_BODY_BYTES {
            warn!(bytes = body.len(), "refused: body over the size limit");
            return Answer::TooLarge;
        }
        let now = self.clock.now();
        let verified = match self.verify(body, &parts.headers, now).await {
            Ok(verified) => verified,
            Err(answer) => return answer,
        };
        let span = tracing::Span::current();
        span.record("webhook_id", verified.webhook_id.as_str());

        let mut delivery = Delivery {
            key: RecordKey::for_delivery(verified.webhook_id.as_str()),
            body_hash: BodyHash::of(body),
            endpoint: self.endpoint.function_name().to_owned(),
            webhook_id: verified.webhook_id.as_str().to_owned(),
            verification: verified.summary(),
            event_type: None,
            account_id: None,
            received_at: now,
        };

        let event = match parse_event(body) {
            Ok(event) => event,
            Err(err) => {
                if let ParseError::UnknownType(raw) = &err {
                    delivery.event_type = Some(raw.clone());
                }
                return self.park(&delivery, parse_reason(&err), body).await;
            }
        };
        span.record("event_type", event.event_type.as_str());
        delivery.event_type = Some(event.event_type.as_str().to_owned());
        if let Some(account) = event.external_customer_id() {
            span.record("account_id", account);
            delivery.account_id = Some(account.to_owned());
        }
        if !self.endpoint.accepts(&event.event_type) {
            let reason = ParkReason::new(
                ParkCode::Misrouted,
                format!("type: not handled by the {} endpoint", self.endpoint.slug()),
            );
            // Its own key: Polo's delivery of the same id to the endpoint
            // that handles it must not read as a duplicate of this one.
            delivery.key = RecordKey::for_misrouted(&delivery.webhook_id, &delivery.endpoint);
            return self.park(&delivery, reason, body).await;
        }

        let lease = lease_end(deadline_ms, now, self.fallback_lease);
        match self.store.claim(&delivery, body, lease, now).await {
            Ok(ClaimOutcome::Claimed(claim)) => {
                if claim.took_over {
                    warn!(
                        attempts = claim.attempts,
                        "took over a pending record or an earlier attempt's expired claim"
                    );
                }
                let ctx = DeliveryContext {
                    webhook_id: delivery.webhook_id.clone(),
                    deadline: lease,
                };
                crate::http::deadline::scope(lease, self.run_claimed(&claim, &event, &ctx, body))
                    .await
            }
            Ok(ClaimOutcome::Existing(existing)) => {
                self.on_existing(&delivery, &existing, body).await
            }
            Err(err) => {
                error!(error = %error_chain(&err), "claim failed; Polo will retry");
                Answer::Unavailable
            }
        }
    }

    async fn verify(
        &self,
        body: &[u8],
        headers: &http::HeaderMap,
        now: OffsetDateTime,
    ) -> Result<Verified, Answer> {
        let headers = SignatureHeaders::from_map(headers).map_err(|err| {
            warn!(reason = %err, "refused: signature headers");
            Answer::Unauthenticated(err)
        })?;
        let keys = self.keys.current().await.map_err(keys_unavailable)?;
        let now_unix = now.unix_timestamp();
        match verifier::verify(body, headers, &keys, now_unix) {
            Ok(verified) => Ok(verified),
            Err(VerifyError::SignatureMismatch) => {
                // Perhaps the secret was rotated since it was cached.
                let retried = match self.keys.refreshed().await.map_err(keys_unavailable)? {
                    Some(fresh) => verifier::verify(body, headers, &fresh, now_unix),
                    None => Err(VerifyError::SignatureMismatch),
                };
                retried.map_err(|err| {
                    warn!(reason = %err, "refused: signature");
                    Answer::Unauthenticated(err)
                })
            }
            Err(err) => {
                warn!(reason = %err, "refused: signature");
                Err(Answer::Unauthenticated(err))
            }
        }
    }

    async fn run_claimed(
        &self,
        claim: &Claim,
        event: &PoloEvent,
        ctx: &DeliveryContext,
        body: &[u8],
    ) -> Answer {
        // No task of its own here: the Lambda runtime reports a panic as
        // this invocation's error, and the claim (payload included) is then
        // finished by the sweep, which does guard each record.
        let result = self.handler.handle(event, ctx).await;
        let now = self.clock.now();
        match inbox::finish(self.store.as_ref(), claim, result, body, now).await {
            Finished::Done(Handled::Stale) => Answer::Stale,
            Finished::Done(_) => Answer::Processed,
            Finished::Parked(code) => Answer::Parked(code),
            // The payload is in DynamoDB since the claim: the inbox owns
            // the retries, so Polo is told it arrived.
            Finished::Deferred | Finished::Unrecorded => Answer::Accepted,
        }
    }

    async fn on_existing(
        &self,
        delivery: &Delivery,
        existing: &IdempotencyRecord,
        body: &[u8],
    ) -> Answer {
        if existing.delivery.body_hash != delivery.body_hash {
            return self.park_conflicting(delivery, body).await;
        }
        match existing.status {
            RecordStatus::Completed | RecordStatus::Parked => {
                info!(status = existing.status.as_str(), "duplicate delivery");
                Answer::Duplicate
            }
            RecordStatus::InProgress => {
                info!("another attempt holds the claim");
                Answer::InProgress
            }
            // A pending record of this body is taken over by the claim; one
            // seen here was just taken by another attempt or the sweep.
            RecordStatus::Pending => Answer::Accepted,
        }
    }

    /// Parks a delivery under its own id; if the id is taken by another
    /// body, under the id and body hash instead.
    async fn park(&self, delivery: &Delivery, reason: ParkReason, body: &[u8]) -> Answer {
        match self.store.park_new(delivery, &reason, body).await {
            Ok(ParkOutcome::Parked) => {
                error!(reason = %reason.code, detail = %reason.detail, "event parked");
                Answer::Parked(reason.code)
            }
            Ok(ParkOutcome::Existing(existing)) => {
                self.on_existing(delivery, &existing, body).await
            }
            Err(err) => {
                error!(error = %error_chain(&err), "parking failed; Polo will retry");
                Answer::Unavailable
            }
        }
    }

    async fn park_conflicting(&self, delivery: &Delivery, body: &[u8]) -> Answer {
        let reason = ParkReason::new(
            ParkCode::BodyConflict,
            "webhook-id: already received with a different body",
        );
        let conflicting = Delivery {
            key: RecordKey::for_conflicting_body(&delivery.webhook_id, &delivery.body_hash),
            ..delivery.clone()
        };
        match self.store.park_new(&conflicting, &reason, body).await {
            Ok(ParkOutcome::Parked) => {
                error!(reason = %reason.code, "event parked: id reused with another body");
                Answer::Parked(reason.code)
            }
            Ok(ParkOutcome::Existing(_)) => Answer::Duplicate,
            Err(err) => {
                error!(error = %error_chain(&err), "parking failed; Polo will retry");
                Answer::Unavailable
            }
        }
    }
}

fn keys_unavailable(err: KeysError) -> Answer {
    error!(error = %error_chain(&err), "webhook secret unavailable");
    Answer::Unavailable
}

pub(super) fn parse_reason(err: &ParseError) -> ParkReason {
    let code = match err {
        ParseError::NotJson | ParseError::Field { .. } => ParkCode::Malformed,
        ParseError::UnknownType(_) => ParkCode::UnknownEventType,
        ParseError::UnknownEnum { .. } => ParkCode::UnknownEnum,
    };
    ParkReason::new(code, err.to_string())
}

/// The claim lasts until the Lambda's deadline, so a crashed attempt's claim
/// is free for the next retry as soon as the platform has killed it.
fn lease_end(deadline_ms: u64, now: OffsetDateTime, fallback: Duration) -> OffsetDateTime {
    crate::http::deadline::lambda_deadline(deadline_ms).unwrap_or(now + fallback)
}
