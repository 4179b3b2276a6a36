// The account store's schema. `accounts` is a minimal stand-in for the web
// app's own table: the billing fields (./billing/model.ts) are what the app
// merges into its table, with `billingIndex` and the indexes below
// (docs/CONVEX.md says how). `billingEvents` is the audit trail: one row per
// committed compare-and-set, written in the same transaction.

import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import {
  accountBillingFields,
  billingEventFields,
  billingIndex,
  provisioningIntent,
} from "./billing/model";

export default defineSchema({
  accounts: defineTable({
    ...accountBillingFields,
    // Optional in storage only (documents written before it existed read as
    // null); the contract always carries it.
    provisioningIntent: v.optional(v.union(provisioningIntent, v.null())),
    // Derived from the billing fields on every write (billingIndexOf).
    billingIndex,
  })
    // get and compare-and-set; unique per account.
    .index("by_accountId", ["accountId"])
    // provisioning-mismatches, paged by accountId.
    .index("by_needsProvisioningPush", [
      "billingIndex.needsProvisioningPush",
      "accountId",
    ])
    // polo-subscribers, paged by accountId.
    .index("by_hasPoloSubscription", [
      "billingIndex.hasPoloSubscription",
      "accountId",
    ])
    // pending-paypal-cancellations, paged by accountId.
    .index("by_pendingPaypalCancellation", [
      "billingIndex.pendingPaypalCancellation",
      "accountId",
    ])
    // expired: the past_due half, paged by accountId.
    .index("by_billingStatus", ["billingStatus", "accountId"])
    // expired: the lapsed half (entitled, expiry passed), paged by expiry
    // then accountId.
    .index("by_entitledUntil", ["billingIndex.entitledUntilMs", "accountId"]),

  billingEvents: defineTable(billingEventFields).index("by_accountId", [
    "accountId",
  ]),
});
