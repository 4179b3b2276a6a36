// The reference billing panel's script (docs/openapi.yaml's four routes,
// nothing else). Plain JS, no build step: copy what you need.
//
// - status: plan, status, renewal or expiry, trial end, cancel at period end;
// - checkout: redirect (follow `url`) or embedded (mount Polo's embedded
//   checkout with `clientSecret` in a modal, listen for its messages);
// - change-plan: upgrade or downgrade after a confirmation step;
// - portal: follow `url`.
// Every answer's `message` is shown as is, with its `code` on the element
// (`data-code`); `provider_paypal` answers get their PayPal link.
"use strict";

const config = JSON.parse(document.getElementById("panel-config").textContent);
const auth = { authorization: "Bearer " + config.token };
const TIERS = ["starter", "pro", "enterprise"];
const RANK = { free: 0, starter: 1, pro: 2, enterprise: 3 };
const SUBSCRIBED = ["trial", "active", "past_due", "incomplete", "paused"];
const PENDING = "polo-billing-pending-checkout";
const $ = (id) => document.getElementById(id);
let current = null;
let pendingChange = null;

function show(id, value) {
  $(id).textContent = value === null || value === undefined || value === "" ? "—" : String(value);
}

// "2026-12-06T21:45:00Z" -> "2026-12-06 21:45 UTC" (the raw value in data-at).
function showDate(id, iso) {
  const el = $(id);
  el.dataset.at = iso || "";
  el.textContent = iso ? iso.slice(0, 10) + " " + iso.slice(11, 16) + " UTC" : "—";
}

function busy(on) {
  document.body.dataset.loaded = on ? "false" : "true";
  document.querySelectorAll("button").forEach((b) => { if (b.id !== "checkout-close") b.disabled = on; });
}

// An answer (BillingResult or status error) as the user reads it.
function say(answer) {
  const box = $("message");
  box.textContent = answer.message || "Something went wrong. Please try again.";
  box.dataset.code = answer.code || (answer.ok ? "ok" : "error");
  box.className = answer.ok ? "notice" : "error";
  box.hidden = false;
  const paypal = answer.code === "provider_paypal" && answer.url;
  $("answer-link-line").hidden = !paypal;
  if (paypal) {
    $("answer-link").href = answer.url;
    $("answer-link").textContent = "Continue on PayPal";
  }
}

async function call(method, path, payload) {
  const init = { method, headers: { ...auth } };
  if (payload !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  const response = await fetch(path, init);
  let body;
  try { body = await response.json(); } catch (_) { body = { ok: false, message: "HTTP " + response.status }; }
  return { status: response.status, body };
}

function render(s) {
  current = s;
  const paypal = s.provider === "paypal";
  show("plan-tier", s.planTier);
  show("billing-status", s.billingStatus);
  show("provider", paypal ? "PayPal" : "Polo");
  show("entitled", s.entitled ? "yes" : "no");
  show("cancel-at-period-end", s.cancelAtPeriodEnd ? "yes" : "no");
  showDate("trial-ends", s.trialEndsAt);
  let label = "Renews on", at = s.renewsAt;
  if (paypal) { label = "Paid through"; at = s.premiumExpiresAt; }
  else if (s.cancelAtPeriodEnd) { label = "Access until"; at = s.premiumExpiresAt; }
  else if (!s.renewsAt && s.premiumExpiresAt) { label = "Expires"; at = s.premiumExpiresAt; }
  show("renews-label", label);
  showDate("renews-at", at);

  const subscribed = !paypal && SUBSCRIBED.includes(s.billingStatus);
  $("subscribe").hidden = subscribed;
  const changeable = !paypal && s.entitled && ["active", "trial"].includes(s.billingStatus);
  $("change").hidden = !changeable;
  const buttons = $("change-buttons");
  buttons.replaceChildren();
  if (changeable) {
    for (const tier of TIERS.filter((t) => t !== s.planTier)) {
      const b = document.createElement("button");
      b.dataset.change = tier;
      b.textContent = (RANK[tier] > RANK[s.planTier] ? "Upgrade to " : "Downgrade to ") + tier;
      b.addEventListener("click", () => askChange(tier));
      buttons.append(b);
    }
  }
  let note = "";
  if (paypal) note = "Your " + s.planTier + " plan is billed through PayPal until " + $("renews-at").textContent + ". Manage it on PayPal, or choose a plan below to move to Polo: the days you already paid become a free trial.";
  else if (s.cancelAtPeriodEnd) note = "Your plan ends on " + $("renews-at").textContent + ". You can resume it in the billing portal until then.";
  else if (s.billingStatus === "past_due") note = "Your last renewal payment failed. Pay it in the billing portal to get access back.";
  else if (s.billingStatus === "trial") note = "You are on a free trial; Polo charges the first payment when it ends.";
  $("state-note").textContent = note;
  $("state-note").hidden = !note;
  $("portal").textContent = paypal ? "Manage on PayPal" : "Manage billing";
  $("manage-note").textContent = paypal
    ? "Your subscription is managed on PayPal until you move to Polo."
    : "Payment method, invoices, cancelling or resuming your plan, in Polo's billing portal.";
  $("status-json").textContent = JSON.stringify(s, null, 2);
}

// Checkouts started here, so a return without `checkout_id` (a declined
// card's "Back to the app", the browser's back button) still reports them.
function rememberCheckout(id) { sessionStorage.setItem(PENDING, JSON.stringify({ account: config.account, id })); }
function rememberedCheckout() {
  try {
    const p = JSON.parse(sessionStorage.getItem(PENDING) || "null");
    return p && p.account === config.account ? p.id : null;
  } catch (_) { return null; }
}

const CHECKOUT_SAYS = {
  failed: "The payment did not go through. Nothing was charged.",
  expired: "That checkout expired before it was paid. Nothing was charged.",
  open: "The checkout was not finished. Nothing was charged.",
  confirmed: "The payment is still being confirmed. Refresh in a moment.",
};

// Reads status; with a checkout id, confirms it (polling every 2 s for up
// to a minute while Polo is still confirming it, when `poll`).
async function load(checkoutId, poll) {
  const query = checkoutId ? "?checkout_id=" + encodeURIComponent(checkoutId) : "";
  for (let i = 0; ; i++) {
    const { status, body } = await call("GET", "/api/billing/status" + query);
    if (status !== 200) {
      say(body);
      if (checkoutId) sessionStorage.removeItem(PENDING);
      return;
    }
    render(body);
    const c = body.checkout;
    if (!c) return;
    $("checkout-line").hidden = false;
    show("checkout-id", c.id);
    show("checkout-status", c.status);
    const waiting = c.status === "open" || c.status === "confirmed";
    if (waiting && poll && i < 30) { await new Promise((r) => setTimeout(r, 2000)); continue; }
    if (c.status === "succeeded") say({ ok: true, message: "You are subscribed to the " + body.planTier + " plan." });
    else say({ ok: false, code: "checkout_" + c.status, message: CHECKOUT_SAYS[c.status] || "The checkout is " + c.status + "." });
    if (!waiting || !poll) sessionStorage.removeItem(PENDING);
    return;
  }
}

async function act(work) {
  busy(true);
  try { await work(); } catch (e) { say({ ok: false, message: String(e) }); } finally { busy(false); }
}

async function subscribe(tier) {
  const mode = document.querySelector("input[name=mode]:checked").value;
  const { body } = await call("POST", "/api/billing/checkout", { planTier: tier, mode });
  say(body);
  if (!body.ok) { if (body.code === "already_subscribed") await load(null, false); return; }
  if (body.code === "provider_paypal" || !body.url) return;
  rememberCheckout(body.checkoutId);
  if (mode === "embedded" && body.clientSecret) { openEmbedded(body); return; }
  window.location.assign(body.url);
}

// Polo's embedded checkout, mounted with the checkout's client secret on
// Polo's own origin (the one its `url` is on); it posts
// {type: "polo:checkout", event, checkoutId} to this page's origin.
let embedded = null;
function openEmbedded(answer) {
  const origin = new URL(answer.url).origin;
  embedded = { origin, checkoutId: answer.checkoutId };
  $("checkout-frame").src = origin + "/checkout/" + encodeURIComponent(answer.clientSecret) + "/embed";
  $("checkout-modal").showModal();
}
// Closing confirms the checkout through status: polling while Polo
// confirms it after `success`, once otherwise (closed unpaid or declined).
function closeEmbedded(paid) {
  if (!embedded) return;
  const id = embedded.checkoutId;
  embedded = null;
  $("checkout-modal").close();
  $("checkout-frame").src = "about:blank";
  return act(() => load(id, paid));
}
window.addEventListener("message", (event) => {
  const data = event.data || {};
  if (!embedded || event.origin !== embedded.origin || data.type !== "polo:checkout" || data.checkoutId !== embedded.checkoutId) return;
  if (data.event === "success") closeEmbedded(true);
  else if (data.event === "close") closeEmbedded(false);
});
$("checkout-close").addEventListener("click", () => closeEmbedded(false));
$("checkout-modal").addEventListener("cancel", (e) => { e.preventDefault(); closeEmbedded(false); });

function askChange(tier) {
  pendingChange = tier;
  const from = current ? current.planTier : "your plan";
  $("confirm-text").textContent = RANK[tier] > RANK[from]
    ? "Upgrade from " + from + " to " + tier + "? Polo charges the prorated difference now."
    : "Downgrade from " + from + " to " + tier + "? The difference is credited on your next invoice.";
  $("confirm").dataset.plan = tier;
  $("confirm").hidden = false;
}
$("confirm-no").addEventListener("click", () => { pendingChange = null; $("confirm").hidden = true; });
$("confirm-yes").addEventListener("click", () => act(async () => {
  const tier = pendingChange;
  pendingChange = null;
  $("confirm").hidden = true;
  if (!tier) return;
  const { body } = await call("POST", "/api/billing/plan", { planTier: tier });
  await load(null, false);
  say(body);
}));

$("portal").addEventListener("click", () => act(async () => {
  const { body } = await call("POST", "/api/billing/portal");
  say(body);
  if (body.ok && body.code !== "provider_paypal" && body.url) window.location.assign(body.url);
}));
$("refresh").addEventListener("click", () => act(() => load(null, false)));
document.querySelectorAll("button[data-plan]").forEach((b) =>
  b.addEventListener("click", () => act(() => subscribe(b.dataset.plan))));
if (config.sandbox) $("sandbox-link").href = config.sandbox + "/admin/state";

const returning = config.checkoutId || rememberedCheckout();
act(() => load(returning, Boolean(config.checkoutId)));
