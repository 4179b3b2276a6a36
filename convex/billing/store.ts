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
  auditCause,
  auditSummaryOf,
  count,
  epochMillis,
  expiredCursor,
  formatExpiredCursor,
  idString,
  instantNanos,
  isExpired,
  isLapsed,
  MAX_PAGE,
  newestAcknowledgement,
  parseExpiredCursor,
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
  args: { expectedVersion: count, account: accountBilling, audit: auditCause },
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
    // The row's before and after are the stored and the written state, not
    // anything the caller claims: only the cause comes from the request.
    await ctx.db.insert("billingEvents", {
      accountId: account.accountId,
      eventId: audit.eventId,
      eventType: audit.eventType,
      before: auditSummaryOf(toAccountBilling(current)),
      after: auditSummaryOf(written),
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

/** A page of accounts and where the next one starts (null: done). */
const accountPage = v.object({
  accounts: v.array(accountBilling),
  cursor: v.union(v.string(), v.null()),
});

/**
 * A page of an accountId-ordered index range read with one look-ahead: the
 * cursor is the last id of a full page when more follow.
 */
function pageOf(docs: Doc<"accounts">[], limit: number) {
  const page = docs.slice(0, limit).map(toAccountBilling);
  const more = docs.length > limit;
  return {
    accounts: page,
    cursor: more ? page[page.length - 1].accountId : null,
  };
}

/**
 * provisioning-mismatches: accounts that need a push (desired !=
 * acknowledged, or an unacknowledged push intent), a page at a time in
 * accountId order (cursor as in polo-subscribers).
 */
export const listProvisioningMismatches = internalQuery({
  args: { cursor: v.union(idString, v.null()), limit: v.number() },
  returns: accountPage,
  handler: async (ctx, { cursor, limit }) => {
    assertLimit(limit);
    const docs = await ctx.db
      .query("accounts")
      .withIndex("by_needsProvisioningPush", (q) => {
        const mismatched = q.eq("billingIndex.needsProvisioningPush", true);
        return cursor === null
          ? mismatched
          : mismatched.gt("accountId", cursor);
      })
      .take(limit + 1);
    return pageOf(docs, limit);
  },
});

/**
 * expired: accounts entitled past their expiry at `now` (the expiry already
 * holds the grace: it is `desiredEntitlement.expiresAt`), or `past_due`, a
 * page at a time.
 *
 * Two index ranges, read one after the other so that every page is bounded
 * (at most 2 x `limit` + 1 documents): first the entitled accounts whose
 * expiry has passed, by expiry and accountId — credentials that must end,
 * so a backlog of `past_due` accounts never holds them back — then the
 * `past_due` accounts by accountId (those lapsed at `now` were listed in the
 * first pass). The cursor is opaque (`formatExpiredCursor`); it is null when
 * both passes are done. A page may hold fewer than `limit` accounts while
 * more follow: an account read and left out (listed in the other pass, or
 * expiring later in the same millisecond as `now`) still takes its place.
 */
export const listExpired = internalQuery({
  args: {
    now: rfc3339,
    cursor: v.union(expiredCursor, v.null()),
    limit: v.number(),
  },
  returns: accountPage,
  handler: async (ctx, { now, cursor, limit }) => {
    assertLimit(limit);
    const nowNanos = instantNanos(now);
    if (nowNanos === null) throw new Error("now must be an RFC 3339 time");
    const from = cursor === null ? null : parseExpiredCursor(cursor);
    if (cursor !== null && from === null) {
      throw new Error("cursor must come from a previous page");
    }
    const accounts: AccountBilling[] = [];
    let room = limit;
    if (from === null || from.pass === "lapsed") {
      const after = from;
      // Index keys are floored milliseconds: anything expired at `now` has
      // a key <= floor(now); the exact (nanosecond) rule then filters.
      const nowMs = epochMillis(now);
      const scanned: Doc<"accounts">[] = [];
      if (after !== null) {
        // The rest of the cursor's millisecond, then the later ones.
        scanned.push(
          ...(await ctx.db
            .query("accounts")
            .withIndex("by_entitledUntil", (q) =>
              q
                .eq("billingIndex.entitledUntilMs", after.untilMs)
                .gt("accountId", after.accountId),
            )
            .take(limit)),
        );
      }
      if (scanned.length < limit) {
        scanned.push(
          ...(await ctx.db
            .query("accounts")
            .withIndex("by_entitledUntil", (q) =>
              q
                .gt(
                  "billingIndex.entitledUntilMs",
                  after === null ? null : after.untilMs,
                )
                .lte("billingIndex.entitledUntilMs", nowMs),
            )
            .take(limit - scanned.length)),
        );
      }
      for (const doc of scanned) {
        const account = toAccountBilling(doc);
        if (isExpired(account, nowNanos)) accounts.push(account);
      }
      const last = scanned[scanned.length - 1];
      const untilMs = last?.billingIndex.entitledUntilMs ?? null;
      if (scanned.length === limit && untilMs !== null) {
        // A full page: the next one carries on in this pass (and finds the
        // second pass if this one is done).
        return {
          accounts,
          cursor: formatExpiredCursor({
            pass: "lapsed",
            untilMs,
            accountId: last.accountId,
          }),
        };
      }
      room = limit - scanned.length;
    }
    const after = from !== null && from.pass === "past_due" ? from : null;
    const docs = await ctx.db
      .query("accounts")
      .withIndex("by_billingStatus", (q) => {
        const pastDue = q.eq("billingStatus", "past_due");
        return after === null
          ? pastDue
          : pastDue.gt("accountId", after.accountId);
      })
      .take(room + 1);
    const page = docs.slice(0, room);
    for (const doc of page) {
      const account = toAccountBilling(doc);
      if (!isLapsed(account, nowNanos)) accounts.push(account);
    }
    const more = docs.length > room;
    return {
      accounts,
      cursor: more
        ? formatExpiredCursor({
            pass: "past_due",
            accountId: page[page.length - 1].accountId,
          })
        : null,
    };
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

/**
 * pending-paypal-cancellations: accounts with a queued PayPal cancellation,
 * a page at a time in accountId order (cursor as in polo-subscribers).
 */
export const listPendingPaypalCancellations = internalQuery({
  args: { cursor: v.union(idString, v.null()), limit: v.number() },
  returns: accountPage,
  handler: async (ctx, { cursor, limit }) => {
    assertLimit(limit);
    const docs = await ctx.db
      .query("accounts")
      .withIndex("by_pendingPaypalCancellation", (q) => {
        const pending = q.eq("billingIndex.pendingPaypalCancellation", true);
        return cursor === null ? pending : pending.gt("accountId", cursor);
      })
      .take(limit + 1);
    return pageOf(docs, limit);
  },
});
