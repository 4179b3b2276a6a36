// The account-store contract's data model (tests/contract/convex): the
// validators of an account's billing state and of an audit row, exactly the
// JSON the Rust side sends (`billing::domain::AccountBilling`, camelCase,
// RFC 3339 times, null for absent values), and the pure helpers around them.
//
// One source of truth: the schema (../schema.ts), the internal functions'
// argument and return validators (./store.ts) and the HTTP layer's request
// checks (./requests.ts) all use the validators below.

import { v, type Infer } from "convex/values";

// ---------------------------------------------------------------------------
// Refined scalars. Convex validators cannot say "an RFC 3339 time" or "a
// non-negative integer"; these are plain validators for the schema, and
// ./requests.ts recognises them (by identity) to apply the stricter check
// the Rust types imply before anything reaches the database.

/** An RFC 3339 time, e.g. `2026-12-01T00:00:00Z` (Rust's `OffsetDateTime`). */
export const rfc3339 = v.string();
/** An id newtype on the Rust side: 1 to 128 visible ASCII characters. */
export const idString = v.string();
/** A `u64` / `u32` on the Rust side: an integer >= 0 (safe in a float64). */
export const count = v.number();

const nullable = <T extends Parameters<typeof v.union>[0]>(x: T) =>
  v.union(x, v.null());

/** The largest page a list call may ask for. */
export const MAX_PAGE = 1000;
/**
 * The `expired` call's cursor: opaque to the caller, a string that
 * `parseExpiredCursor` accepts.
 */
export const expiredCursor = v.string();

// ---------------------------------------------------------------------------
// Enums (Rust: `Provider`, `PlanTier`, `BillingStatus`).

export const PROVIDERS = ["polo", "paypal"] as const;
export const PLAN_TIERS = ["free", "starter", "pro", "enterprise"] as const;
export const BILLING_STATUSES = [
  "none",
  "trial",
  "active",
  "past_due",
  "incomplete",
  "paused",
  "canceled",
] as const;

export const provider = v.union(v.literal("polo"), v.literal("paypal"));
export const planTier = v.union(
  v.literal("free"),
  v.literal("starter"),
  v.literal("pro"),
  v.literal("enterprise"),
);
export const billingStatus = v.union(
  v.literal("none"),
  v.literal("trial"),
  v.literal("active"),
  v.literal("past_due"),
  v.literal("incomplete"),
  v.literal("paused"),
  v.literal("canceled"),
);

// ---------------------------------------------------------------------------
// The account's billing state.

/** A Polo subscription as last applied to the account (its watermark orders snapshots). */
export const knownSubscription = v.object({
  id: idString,
  productId: idString,
  tier: planTier,
  status: billingStatus,
  watermark: rfc3339,
  startedAt: nullable(rfc3339),
  currentPeriodEnd: nullable(rfc3339),
  trialEnd: nullable(rfc3339),
  cancelAtPeriodEnd: v.boolean(),
  entitledUntil: nullable(rfc3339),
});

/** What the orchestrator should do with the account's managed credentials. */
export const entitlement = v.object({
  entitled: v.boolean(),
  tier: planTier,
  expiresAt: nullable(rfc3339),
});

/** The last entitlement the orchestrator acknowledged, and for which account version. */
export const provisionedEntitlement = v.object({
  entitled: v.boolean(),
  tier: planTier,
  expiresAt: nullable(rfc3339),
  version: count,
});

/**
 * A push recorded before it is sent (write-ahead): "pushing this
 * entitlement at this version", recorded at `at`. Until an acknowledgement
 * of this version or a newer one is recorded, the push's outcome is unknown.
 */
export const provisioningIntent = v.object({
  entitled: v.boolean(),
  tier: planTier,
  expiresAt: nullable(rfc3339),
  version: count,
  at: rfc3339,
});

/** A not-yet-migrated PayPal subscriber. */
export const paypalLegacy = v.object({
  subscriptionId: v.string(),
  tier: planTier,
  paidThrough: rfc3339,
});

/** A PayPal subscription to cancel now that Polo took over. */
export const pendingPaypalCancellation = v.object({
  subscriptionId: v.string(),
  queuedAt: rfc3339,
  attempts: count,
});

/**
 * The billing fields of an account, in the contract's order. These are the
 * fields the web app merges into its own `accounts` table.
 */
export const accountBillingFields = {
  accountId: idString,
  provider,
  planTier,
  billingStatus,
  premiumExpiresAt: nullable(rfc3339),
  renewsAt: nullable(rfc3339),
  cancelAtPeriodEnd: v.boolean(),
  trialEndsAt: nullable(rfc3339),
  poloCustomerId: nullable(idString),
  subscriptions: v.array(knownSubscription),
  currentSubscriptionId: nullable(idString),
  desiredEntitlement: entitlement,
  entitlementChangedAt: nullable(rfc3339),
  provisionedEntitlement: nullable(provisionedEntitlement),
  provisioningIntent: nullable(provisioningIntent),
  version: count,
  paypal: nullable(paypalLegacy),
  pendingPaypalCancellation: nullable(pendingPaypalCancellation),
};

export const accountBilling = v.object(accountBillingFields);
export type AccountBilling = Infer<typeof accountBilling>;

export const ACCOUNT_BILLING_KEYS = Object.keys(
  accountBillingFields,
) as (keyof AccountBilling)[];

// ---------------------------------------------------------------------------
// Derived index keys. Three of the four list queries select on something no
// index over the contract fields can express (desired != provisioned, a
// non-empty array, a non-null object), and the fourth compares a time string
// whose RFC 3339 text does not sort chronologically in general (offsets,
// fractional seconds). So every write of the billing fields also writes
// `billingIndex`, computed from them by `billingIndexOf`, and the list
// queries read only through indexes on it: no list scans the accounts table.
// It is never part of the contract JSON (see `toAccountBilling`).

export const billingIndex = v.object({
  /**
   * desired != provisioned entitlement (never provisioned = not entitled),
   * or a push intent newer than the acknowledgement.
   */
  needsProvisioningPush: v.boolean(),
  /** At least one known Polo subscription. */
  hasPoloSubscription: v.boolean(),
  /** A PayPal cancellation is queued. */
  pendingPaypalCancellation: v.boolean(),
  /**
   * Epoch milliseconds (floored) of `desiredEntitlement.expiresAt` while the
   * desired entitlement is on and has an end; null otherwise.
   */
  entitledUntilMs: v.union(v.number(), v.null()),
});
export type BillingIndex = Infer<typeof billingIndex>;

// ---------------------------------------------------------------------------
// The audit row (Rust: `AuditEntry` / `AuditSummary`).

export const auditSummary = v.object({
  version: count,
  provider,
  planTier,
  billingStatus,
  entitled: v.boolean(),
  premiumExpiresAt: nullable(rfc3339),
});

export const auditEntry = v.object({
  eventId: v.string(),
  eventType: v.string(),
  before: auditSummary,
  after: auditSummary,
  at: rfc3339,
});
export type AuditEntry = Infer<typeof auditEntry>;

/**
 * What a caller says about a change: its cause only (Rust: `AuditCause`).
 * The before and after of the audit row are built here, from the stored and
 * the written state, so a caller holding the signing secret still cannot
 * write an audit trail that disagrees with what happened.
 */
export const auditCause = v.object({
  eventId: v.string(),
  eventType: v.string(),
  at: rfc3339,
});
export type AuditCause = Infer<typeof auditCause>;

/** The fields a support engineer reads in an audit trail, of one state. */
export function auditSummaryOf(account: AccountBilling): AuditSummary {
  return {
    version: account.version,
    provider: account.provider,
    planTier: account.planTier,
    billingStatus: account.billingStatus,
    entitled: account.desiredEntitlement.entitled,
    premiumExpiresAt: account.premiumExpiresAt,
  };
}
export type AuditSummary = Infer<typeof auditSummary>;

/** A stored audit row: the entry and the account it belongs to. */
export const billingEventFields = {
  accountId: idString,
  eventId: v.string(),
  eventType: v.string(),
  before: auditSummary,
  after: auditSummary,
  at: rfc3339,
};

// ---------------------------------------------------------------------------
// Times.

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time as an exact instant: nanoseconds since the Unix epoch
 * (a bigint, so that Rust's nanosecond precision survives), or null when the
 * text is not a valid RFC 3339 time.
 */
export function instantNanos(text: string): bigint | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m
    .slice(1, 7)
    .map((part) => Number(part));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return null;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return null;
    offsetMinutes = (offsetHours * 60 + offsetMins) * (m[9] === "-" ? -1 : 1);
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0-99 to 1900-1999; fix the year explicitly.
  const date = new Date(wall);
  date.setUTCFullYear(year);
  const epochSeconds = date.getTime() / 1000 - offsetMinutes * 60;
  const fraction = (m[7] ?? "").padEnd(9, "0");
  return BigInt(epochSeconds) * 1_000_000_000n + BigInt(fraction || "0");
}

function mustInstant(text: string): bigint {
  const nanos = instantNanos(text);
  if (nanos === null) {
    // Unreachable for stored data: every time is checked on the way in.
    throw new Error("a stored time is not RFC 3339");
  }
  return nanos;
}

/** Floored epoch milliseconds of an RFC 3339 time. */
export function epochMillis(text: string): number {
  const nanos = mustInstant(text);
  const ms = nanos / 1_000_000n;
  // bigint division truncates towards zero; floor for times before 1970.
  return Number(nanos < 0n && nanos % 1_000_000n !== 0n ? ms - 1n : ms);
}

function sameInstant(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return mustInstant(a) === mustInstant(b);
}

// ---------------------------------------------------------------------------
// The rules (Rust: `AccountBilling::needs_push`, `accounts::is_expired`).

type Entitlement = Infer<typeof entitlement>;
const NOT_ENTITLED: Entitlement = {
  entitled: false,
  tier: "free",
  expiresAt: null,
};

type Acknowledged = Infer<typeof provisionedEntitlement>;

/**
 * The orchestrator may not hold what the account should have: its last
 * acknowledgement differs from the desired entitlement, or a push intent is
 * newer than that acknowledgement (a push whose outcome is unknown).
 */
export function needsProvisioningPush(account: AccountBilling): boolean {
  const acknowledged = account.provisionedEntitlement;
  const provisioned = acknowledged ?? NOT_ENTITLED;
  const desired = account.desiredEntitlement;
  const intent = account.provisioningIntent;
  const unacknowledgedIntent =
    intent !== null &&
    (acknowledged === null || acknowledged.version < intent.version);
  return (
    unacknowledgedIntent ||
    !(
      provisioned.entitled === desired.entitled &&
      provisioned.tier === desired.tier &&
      sameInstant(provisioned.expiresAt, desired.expiresAt)
    )
  );
}

/** Of two acknowledgements, the one for the newer version (never go back). */
export function newestAcknowledgement(
  a: Acknowledged | null,
  b: Acknowledged | null,
): Acknowledged | null {
  if (a === null) return b;
  if (b === null) return a;
  return b.version > a.version ? b : a;
}

/** Entitled past its expiry at `now`. */
export function isLapsed(account: AccountBilling, nowNanos: bigint): boolean {
  const desired = account.desiredEntitlement;
  return (
    desired.entitled &&
    desired.expiresAt !== null &&
    mustInstant(desired.expiresAt) <= nowNanos
  );
}

/** Entitled past its expiry at `now`, or `past_due`. */
export function isExpired(account: AccountBilling, nowNanos: bigint): boolean {
  return isLapsed(account, nowNanos) || account.billingStatus === "past_due";
}

export function billingIndexOf(account: AccountBilling): BillingIndex {
  const desired = account.desiredEntitlement;
  return {
    needsProvisioningPush: needsProvisioningPush(account),
    hasPoloSubscription: account.subscriptions.length > 0,
    pendingPaypalCancellation: account.pendingPaypalCancellation !== null,
    entitledUntilMs:
      desired.entitled && desired.expiresAt !== null
        ? epochMillis(desired.expiresAt)
        : null,
  };
}

/**
 * The billing fields and their index keys, as written to an `accounts`
 * document. Use it for every write of billing fields (the app's sign-up
 * included: see `newAccountBilling`).
 */
export function storedBillingFields(
  account: AccountBilling,
): AccountBilling & { billingIndex: BillingIndex } {
  return { ...pickBilling(account), billingIndex: billingIndexOf(account) };
}

/**
 * An account as stored: `provisioningIntent` may be absent from documents
 * written before it existed (the schema makes it optional so that deploying
 * it needs no migration).
 */
export type StoredBilling = Omit<AccountBilling, "provisioningIntent"> & {
  provisioningIntent?: AccountBilling["provisioningIntent"];
};

/** The contract JSON of a stored account: exactly the billing fields, in order. */
export function toAccountBilling(doc: StoredBilling): AccountBilling {
  return pickBilling(doc);
}

function pickBilling(doc: StoredBilling): AccountBilling {
  const out: Record<string, unknown> = {};
  // `?? null`: documents written before a field existed (provisioningIntent)
  // read as null.
  for (const key of ACCOUNT_BILLING_KEYS) out[key] = doc[key] ?? null;
  return out as AccountBilling;
}

/**
 * The billing fields of a new account (Rust: `AccountBilling::new`): what
 * the app writes at sign-up, index keys included.
 */
export function newAccountBilling(accountId: string) {
  return storedBillingFields({
    accountId,
    provider: "polo",
    planTier: "free",
    billingStatus: "none",
    premiumExpiresAt: null,
    renewsAt: null,
    cancelAtPeriodEnd: false,
    trialEndsAt: null,
    poloCustomerId: null,
    subscriptions: [],
    currentSubscriptionId: null,
    desiredEntitlement: { ...NOT_ENTITLED },
    entitlementChangedAt: null,
    provisionedEntitlement: null,
    provisioningIntent: null,
    version: 0,
    paypal: null,
    pendingPaypalCancellation: null,
  });
}

// ---------------------------------------------------------------------------
// The `expired` call's cursor. The call reads two index ranges one after the
// other (lapsed accounts by expiry and accountId, then `past_due` ones by
// accountId), so its cursor names the pass and the last key read in it:
// `lapsed:<expiry ms>:<accountId>` or `past_due:<accountId>`.

export type ExpiredCursor =
  | { pass: "past_due"; accountId: string }
  | { pass: "lapsed"; untilMs: number; accountId: string };

const PAST_DUE_CURSOR = /^past_due:([\x21-\x7e]{1,128})$/;
const LAPSED_CURSOR = /^lapsed:(-?[0-9]{1,16}):([\x21-\x7e]{1,128})$/;

export function formatExpiredCursor(cursor: ExpiredCursor): string {
  return cursor.pass === "past_due"
    ? `past_due:${cursor.accountId}`
    : `lapsed:${cursor.untilMs}:${cursor.accountId}`;
}

/** The cursor `formatExpiredCursor` wrote, or null for anything else. */
export function parseExpiredCursor(text: string): ExpiredCursor | null {
  const pastDue = PAST_DUE_CURSOR.exec(text);
  if (pastDue !== null) return { pass: "past_due", accountId: pastDue[1] };
  const lapsed = LAPSED_CURSOR.exec(text);
  if (lapsed === null) return null;
  const untilMs = Number(lapsed[1]);
  return Number.isSafeInteger(untilMs)
    ? { pass: "lapsed", untilMs, accountId: lapsed[2] }
    : null;
}
