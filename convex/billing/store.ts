// The account store's internal functions, one per contract call. Internal
// only: nothing here is reachable from a client; the signed HTTP actions in
// ./routes.ts are the only way in from outside, and no public mutation
// changes billing state.

import { v } from "convex/values";
import {
  internalMutation,
  internalQuery,
  type DatabaseReader,
} from "../_generated/server";
import type { Doc } from "../_generated/dataModel";
import {
  accountBilling,
  auditEntry,
  count,
  epochMillis,
  idString,
  instantNanos,
  isExpired,
  MAX_PAGE,
  newestAcknowledgement,
  provisionedEntitlement,
  rfc3339,
  storedBillingFields,
  toAccountBilling,
  type AccountBilling,
} from "./model";

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new Error(`limit must be an integer from 1 to ${MAX_PAGE}`);
  }
}

async function findAccount(
  db: DatabaseReader,
  accountId: string,
): Promise<Doc<"accounts"> | null> {
  // `unique` throws if two documents share an accountId: a data fault that
  // must surface (as a 500), never be resolved by picking one.
  return await db
    .query("accounts")
    .withIndex("by_accountId", (q) => q.eq("accountId", accountId))
    .unique();
}

function byAccountId(a: AccountBilling, b: AccountBilling): number {
  return a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0;
}

/** get: an account's billing state, or null. */
export const getAccount = internalQuery({
  args: { accountId: idString },
  returns: v.union(accountBilling, v.null()),
  handler: async (ctx, { accountId }) => {
    const doc = await findAccount(ctx.db, accountId);
    return doc === null ? null : toAccountBilling(doc);
  },
});

/**
 * compare-and-set: writes the account's billing fields and its audit row in
 * this one mutation (one transaction), or nothing.
 */
export const compareAndSet = internalMutation({
  args: { expectedVersion: count, account: accountBilling, audit: auditEntry },
  returns: v.union(
    v.object({ kind: v.literal("written"), version: v.number() }),
    v.object({
      kind: v.literal("conflict"),
      conflict: v.literal(true),
      currentVersion: v.number(),
    }),
    v.object({ kind: v.literal("not_found") }),
    v.object({ kind: v.literal("invalid"), detail: v.string() }),
  ),
  handler: async (ctx, { expectedVersion, account, audit }) => {
    if (account.version !== expectedVersion + 1) {
      return {
        kind: "invalid" as const,
        detail: "account.version: must be expectedVersion + 1",
      };
    }
    const current = await findAccount(ctx.db, account.accountId);
    if (current === null) return { kind: "not_found" as const };
    if (current.version !== expectedVersion) {
      return {
        kind: "conflict" as const,
        conflict: true as const,
        currentVersion: current.version,
      };
    }
    // Acknowledgements are recorded without a version check
    // (acknowledgeProvisioning), so one may have landed after the caller
    // read the account: keep the newer of the stored and the sent one, so
    // that an acknowledgement never goes backwards.
    const written = {
      ...account,
      provisionedEntitlement: newestAcknowledgement(
        current.provisionedEntitlement,
        account.provisionedEntitlement,
      ),
    };
    // `patch`, not `replace`: the app's own fields on its accounts document
    // (email, name, ...) are left as they are.
    await ctx.db.patch("accounts", current._id, storedBillingFields(written));
    await ctx.db.insert("billingEvents", {
      accountId: account.accountId,
      eventId: audit.eventId,
      eventType: audit.eventType,
      before: audit.before,
      after: audit.after,
      at: audit.at,
    });
    return { kind: "written" as const, version: account.version };
  },
});

/**
 * acknowledge-provisioning: records that the orchestrator acknowledged the
 * push of `acknowledged.version`, monotonically: kept unless a newer one is
 * recorded, whatever the account's version has become. The version is not
 * bumped and no audit row is written (no billing state changes), so it never
 * makes a concurrent compare-and-set fail.
 */
export const acknowledgeProvisioning = internalMutation({
  args: { accountId: idString, acknowledged: provisionedEntitlement },
  returns: v.union(
    v.object({ kind: v.literal("acknowledged"), recorded: v.boolean() }),
    v.object({ kind: v.literal("not_found") }),
    v.object({ kind: v.literal("invalid"), detail: v.string() }),
  ),
  handler: async (ctx, { accountId, acknowledged }) => {
    const current = await findAccount(ctx.db, accountId);
    if (current === null) return { kind: "not_found" as const };
    if (acknowledged.version > current.version) {
      return {
        kind: "invalid" as const,
        detail: "acknowledged.version: beyond the account's version",
      };
    }
    const stored = current.provisionedEntitlement;
    const newest = newestAcknowledgement(stored, acknowledged);
    if (newest === stored) {
      return { kind: "acknowledged" as const, recorded: false };
    }
    const account = {
      ...toAccountBilling(current),
      provisionedEntitlement: newest,
    };
    await ctx.db.patch("accounts", current._id, storedBillingFields(account));
    return { kind: "acknowledged" as const, recorded: true };
  },
});

/**
 * provisioning-mismatches: accounts that need a push (desired !=
 * acknowledged, or an unacknowledged push intent), by accountId.
 */
export const listProvisioningMismatches = internalQuery({
  args: { limit: v.number() },
  returns: v.array(accountBilling),
  handler: async (ctx, { limit }) => {
    assertLimit(limit);
    const docs = await ctx.db
      .query("accounts")
      .withIndex("by_needsProvisioningPush", (q) =>
        q.eq("billingIndex.needsProvisioningPush", true),
      )
      .take(limit);
    return docs.map(toAccountBilling);
  },
});

/**
 * expired: accounts entitled past their expiry at `now` (the expiry already
 * holds the grace: it is `desiredEntitlement.expiresAt`), or `past_due`; the
 * first `limit` of them by accountId.
 *
 * Two index ranges: `past_due` accounts in accountId order (at most `limit`
 * needed), and every entitled account whose expiry has passed. The second
 * set is read whole so that the result is exactly the first `limit` by
 * accountId; it is small in steady state, since reconciliation moves such
 * accounts out of it.
 */
export const listExpired = internalQuery({
  args: { now: rfc3339, limit: v.number() },
  returns: v.array(accountBilling),
  handler: async (ctx, { now, limit }) => {
    assertLimit(limit);
    const nowNanos = instantNanos(now);
    if (nowNanos === null) throw new Error("now must be an RFC 3339 time");
    // Index keys are floored milliseconds: anything expired at `now` has a
    // key <= floor(now); the exact (nanosecond) rule then filters.
    const nowMs = epochMillis(now);
    const pastDue = await ctx.db
      .query("accounts")
      .withIndex("by_billingStatus", (q) => q.eq("billingStatus", "past_due"))
      .take(limit);
    const lapsed = await ctx.db
      .query("accounts")
      .withIndex("by_entitledUntil", (q) =>
        q
          .gt("billingIndex.entitledUntilMs", null)
          .lte("billingIndex.entitledUntilMs", nowMs),
      )
      .collect();
    const found = new Map<string, AccountBilling>();
    for (const doc of [...pastDue, ...lapsed]) {
      const account = toAccountBilling(doc);
      if (isExpired(account, nowNanos)) found.set(account.accountId, account);
    }
    return [...found.values()].sort(byAccountId).slice(0, limit);
  },
});

/**
 * polo-subscribers: ids of accounts with a Polo subscription, a page at a
 * time in accountId order. The cursor is the last id of a full page when
 * more follow, null when done.
 */
export const listPoloSubscribers = internalQuery({
  args: { cursor: v.union(idString, v.null()), limit: v.number() },
  returns: v.object({
    accountIds: v.array(v.string()),
    cursor: v.union(v.string(), v.null()),
  }),
  handler: async (ctx, { cursor, limit }) => {
    assertLimit(limit);
    const docs = await ctx.db
      .query("accounts")
      .withIndex("by_hasPoloSubscription", (q) => {
        const subscribers = q.eq("billingIndex.hasPoloSubscription", true);
        return cursor === null
          ? subscribers
          : subscribers.gt("accountId", cursor);
      })
      .take(limit + 1);
    const page = docs.slice(0, limit).map((doc) => doc.accountId);
    const more = docs.length > limit;
    return { accountIds: page, cursor: more ? page[page.length - 1] : null };
  },
});

/** pending-paypal-cancellations: accounts with a queued PayPal cancellation. */
export const listPendingPaypalCancellations = internalQuery({
  args: { limit: v.number() },
  returns: v.array(accountBilling),
  handler: async (ctx, { limit }) => {
    assertLimit(limit);
    const docs = await ctx.db
      .query("accounts")
      .withIndex("by_pendingPaypalCancellation", (q) =>
        q.eq("billingIndex.pendingPaypalCancellation", true),
      )
      .take(limit);
    return docs.map(toAccountBilling);
  },
});
