//! Per function: its environment, the next realistic event it gets and the
//! check its answer must pass, so a function that fails is never timed as a
//! fast one.
//!
//! - dashboard (checkout, portal, status, change-plan): the shipped API
//!   Gateway HTTP API v2 event with the JWT authorizer's claims for the
//!   right account: checkout for a never-subscribed account (every request
//!   derives the same idempotency key, so Polo answers the same open
//!   checkout), portal, status and change-plan for a pro subscriber, whose
//!   plan changes alternate pro → enterprise (invoiced now) → pro (credited);
//! - the five webhooks: their shipped delivery, re-signed with a fresh
//!   timestamp and a new delivery id each time (a real claim, never a
//!   duplicate; `stale` once a newer snapshot of the story is applied);
//!   webhook-payment-succeeded's carries the `order.paid` the
//!   sandbox sent for the subscriber's payment, since it confirms the order
//!   against Polo's API;
//! - provisioning-sync, reconcile, webhook-retry: their EventBridge
//!   scheduled event, with nothing (or, for provisioning-sync's first run,
//!   one acknowledged push) to do.

use super::{World, FREE_ACCOUNT, SUBSCRIBED_ACCOUNT};
use crate::local::LOCAL_WEBHOOK_SECRET;
use crate::runtime_api::Outcome;
use base64::Engine as _;
use billing::config::Function;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dashboard,
    Webhook,
    Scheduled,
}

pub struct Subject {
    /// The binary's name (functions/src/bin/<name>.rs).
    pub name: &'static str,
    pub kind: Kind,
    env: Vec<(String, String)>,
    shipped: String,
    /// Events made so far: delivery ids and plan changes follow it.
    made: AtomicUsize,
    /// Tells this run's delivery ids from an earlier run's on the same table.
    run: i64,
}

/// The twelve, in the order of the cold-start table.
pub const NAMES: [(&str, Kind); 12] = [
    ("checkout", Kind::Dashboard),
    ("portal", Kind::Dashboard),
    ("status", Kind::Dashboard),
    ("change-plan", Kind::Dashboard),
    ("webhook-subscription-created", Kind::Webhook),
    ("webhook-subscription-updated", Kind::Webhook),
    ("webhook-subscription-canceled", Kind::Webhook),
    ("webhook-payment-failed", Kind::Webhook),
    ("webhook-payment-succeeded", Kind::Webhook),
    ("provisioning-sync", Kind::Scheduled),
    ("reconcile", Kind::Scheduled),
    ("webhook-retry", Kind::Scheduled),
];

impl Subject {
    /// All twelve over `world`, with the shipped events of `events_dir`.
    pub fn all(world: &World, events_dir: &Path) -> Result<Vec<Self>, String> {
        let run = time::OffsetDateTime::now_utc().unix_timestamp();
        NAMES
            .iter()
            .map(|&(name, kind)| {
                let path = events_dir.join(format!("{name}.json"));
                let mut shipped = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if name == "webhook-payment-succeeded" {
                    shipped = with_body(&shipped, &world.paid_order)?;
                }
                let function = Function::from_binary(name).ok_or(format!("{name}: unknown"))?;
                let mut env = world.base_env();
                if function.calls_polo() {
                    env.extend(world.polo_env());
                }
                if kind == Kind::Dashboard {
                    env.extend(world.dashboard_env());
                }
                if matches!(function, Function::Webhook(_) | Function::WebhookRetry) {
                    env.extend(world.webhook_env());
                }
                Ok(Self {
                    name,
                    kind,
                    env,
                    shipped,
                    made: AtomicUsize::new(0),
                    run,
                })
            })
            .collect()
    }

    /// The environment the binary starts with (besides the Runtime API's).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The invocation's timeout, as template.yaml gives the function: the
    /// emulator hands it over as the deadline, and the scheduled functions
    /// plan their runs by it (provisioning-sync keeps 13 s in reserve).
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(match (self.kind, self.name) {
            (Kind::Dashboard, _) => 10,
            (Kind::Webhook, _) => 9,
            (Kind::Scheduled, "reconcile") => 300,
            (Kind::Scheduled, _) => 55,
        })
    }

    /// The next event. Events must be sent in the order they are made
    /// (change-plan's alternate tiers).
    pub fn event(&self) -> Result<String, String> {
        let n = self.made.fetch_add(1, Ordering::SeqCst);
        match self.kind {
            Kind::Webhook => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let id = format!("msg_subject_{}_{}_{n}", self.run, self.name);
                crate::sample::resign_event(&self.shipped, &id, LOCAL_WEBHOOK_SECRET, now)
            }
            Kind::Scheduled => Ok(self.shipped.clone()),
            Kind::Dashboard => self.dashboard_event(n),
        }
    }

    fn dashboard_event(&self, n: usize) -> Result<String, String> {
        let mut event: Value =
            serde_json::from_str(&self.shipped).map_err(|e| format!("{}: {e}", self.name))?;
        let (account, body) = match self.name {
            "checkout" => (
                FREE_ACCOUNT,
                Some(r#"{"planTier":"pro","mode":"redirect"}"#),
            ),
            "change-plan" if n.is_multiple_of(2) => {
                (SUBSCRIBED_ACCOUNT, Some(r#"{"planTier":"enterprise"}"#))
            }
            "change-plan" => (SUBSCRIBED_ACCOUNT, Some(r#"{"planTier":"pro"}"#)),
            _ => (SUBSCRIBED_ACCOUNT, None),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let context = &mut event["requestContext"];
        let claims = &mut context["authorizer"]["jwt"]["claims"];
        claims["sub"] = account.into();
        claims["iat"] = now.to_string().into();
        claims["exp"] = (now + 3600).to_string().into();
        context["requestId"] = format!("req-{}-{}-{n}", self.run, self.name).into();
        context["timeEpoch"] = (now * 1000).into();
        if let Some(body) = body {
            event["body"] = body.into();
        }
        Ok(event.to_string())
    }

    /// Whether `outcome` is this function's correct answer to its event.
    pub fn check(&self, outcome: &Outcome) -> Result<(), String> {
        let wrong = |what: &str| Err(format!("{}: {what}: {outcome:?}", self.name));
        let Outcome::Response(answer) = outcome else {
            return wrong("no answer");
        };
        if self.kind == Kind::Scheduled {
            let zero = |field: &str| answer[field].as_u64() == Some(0);
            let fine = match self.name {
                "provisioning-sync" => {
                    zero("notPushed")
                        && answer["outOfTime"] == false
                        && zero("paypalFailed")
                        && answer["mismatched"] == answer["acknowledged"]
                }
                "reconcile" => zero("failed") && answer["backlog"] == false,
                _ => zero("parked") && zero("deferred") && answer["applied"] == answer["open"],
            };
            return if fine { Ok(()) } else { wrong("a failed run") };
        }
        let status = answer["statusCode"].as_u64();
        let body: Value = answer["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        let fine = status == Some(200)
            && match self.name {
                "status" => {
                    body["accountId"] == SUBSCRIBED_ACCOUNT
                        && body["entitled"] == true
                        && body["provider"] == "polo"
                }
                "checkout" | "portal" => body["ok"] == true && body["url"].is_string(),
                "change-plan" => {
                    body["ok"] == true
                        && body["message"]
                            .as_str()
                            .is_some_and(|m| m.starts_with("Your plan is now"))
                }
                // Once a newer snapshot of the story is applied (the cold
                // starts are interleaved), an older one is claimed, read
                // against the account and completed as `stale`.
                _ => ["processed", "stale"]
                    .map(|s| serde_json::json!({ "status": s }))
                    .contains(&body),
            };
        if fine {
            Ok(())
        } else {
            wrong("not the expected answer")
        }
    }
}

/// The shipped API Gateway event carrying `body` instead (base64, as API
/// Gateway hands a webhook's bytes over).
fn with_body(shipped: &str, body: &[u8]) -> Result<String, String> {
    let mut event: Value = serde_json::from_str(shipped).map_err(|e| format!("event: {e}"))?;
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(body)
        .into();
    event["isBase64Encoded"] = true.into();
    Ok(event.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &'static str, kind: Kind) -> Subject {
        Subject {
            name,
            kind,
            env: Vec::new(),
            shipped: String::new(),
            made: AtomicUsize::new(0),
            run: 0,
        }
    }

    fn answer(status: u64, body: Value) -> Outcome {
        Outcome::Response(serde_json::json!({"statusCode": status, "body": body.to_string()}))
    }

    #[test]
    fn a_refusal_a_duplicate_or_an_error_never_passes_for_a_right_answer() {
        let portal = subject("portal", Kind::Dashboard);
        let url = serde_json::json!({"ok": true, "url": "http://127.0.0.1/p"});
        assert!(portal.check(&answer(200, url.clone())).is_ok());
        assert!(portal.check(&answer(409, url)).is_err());
        let refused = serde_json::json!({"ok": false, "url": null, "code": "no_subscription"});
        assert!(portal.check(&answer(200, refused)).is_err());

        let webhook = subject("webhook-payment-failed", Kind::Webhook);
        assert!(webhook
            .check(&answer(200, serde_json::json!({"status": "processed"})))
            .is_ok());
        assert!(webhook
            .check(&answer(200, serde_json::json!({"status": "duplicate"})))
            .is_err());

        let reconcile = subject("reconcile", Kind::Scheduled);
        let report =
            serde_json::json!({"accounts": 0, "changed": 0, "failed": 0, "backlog": false});
        assert!(reconcile.check(&Outcome::Response(report)).is_ok());
        let failed =
            serde_json::json!({"accounts": 1, "changed": 0, "failed": 1, "backlog": false});
        assert!(reconcile.check(&Outcome::Response(failed)).is_err());
        assert!(reconcile.check(&Outcome::Error("boom".into())).is_err());
    }
}
