// The billing model on its own (billing/model.ts, no backend): RFC 3339
// instants to the nanosecond, the index keys derived from an account, and a
// new account equal to the Rust side's AccountBilling::new.

import { describe, expect, test } from "vitest";
import {
  billingIndexOf,
  instantNanos,
  newAccountBilling,
  storedBillingFields,
} from "../billing/model";
import { account, billingOnly, fixture } from "./harness.test-utils";

// ---------------------------------------------------------------------------
describe("the model", () => {
  test.each([
    ["2026-11-15T12:00:00Z", 1794744000n * 1_000_000_000n],
    ["2026-11-15T12:00:00.5Z", 1794744000n * 1_000_000_000n + 500_000_000n],
    ["2026-11-15T13:00:00+01:00", 1794744000n * 1_000_000_000n],
    ["2026-11-15t12:00:00z", 1794744000n * 1_000_000_000n],
    ["1970-01-01T00:00:00Z", 0n],
    ["2024-02-29T00:00:00Z", 1709164800n * 1_000_000_000n],
  ])("instantNanos(%s)", (text, nanos) => {
    expect(instantNanos(text)).toBe(nanos);
  });

  test.each([
    "2026-11-15",
    "2026-11-15T12:00:00",
    "2026-11-15 12:00:00Z",
    "2026-13-15T12:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-11-15T24:00:00Z",
    "2026-11-15T12:60:00Z",
    "2026-11-15T12:00:60Z",
    "2026-11-15T12:00:00.Z",
    "2026-11-15T12:00:00.1234567890Z",
    "2026-11-15T12:00:00+24:00",
  ])("instantNanos(%s) is not RFC 3339", (text) => {
    expect(instantNanos(text)).toBeNull();
  });

  test("index keys", () => {
    const f = fixture("subscribers-first-page").seed.accounts;
    expect(f.map((a) => [a.accountId, billingIndexOf(a)])).toStrictEqual([
      [
        "acct_active",
        {
          needsProvisioningPush: false,
          hasPoloSubscription: true,
          pendingPaypalCancellation: false,
          entitledUntilMs: Date.parse("2026-12-02T00:00:00Z"),
        },
      ],
      [
        "acct_expired",
        {
          needsProvisioningPush: false,
          hasPoloSubscription: true,
          pendingPaypalCancellation: false,
          entitledUntilMs: Date.parse("2026-11-10T00:00:00Z"),
        },
      ],
      [
        "acct_past_due",
        {
          needsProvisioningPush: false,
          hasPoloSubscription: true,
          pendingPaypalCancellation: false,
          entitledUntilMs: null,
        },
      ],
      [
        "acct_free",
        {
          needsProvisioningPush: false,
          hasPoloSubscription: false,
          pendingPaypalCancellation: false,
          entitledUntilMs: null,
        },
      ],
    ]);
    expect(
      billingIndexOf(fixture("paypal-pending-found").seed.accounts[0])
        .pendingPaypalCancellation,
    ).toBe(true);
    expect(
      billingIndexOf(fixture("mismatches-found").seed.accounts[1])
        .needsProvisioningPush,
    ).toBe(true);
  });

  test("a new account is the Rust side's AccountBilling::new", () => {
    expect(newAccountBilling("acct_free")).toStrictEqual(
      storedBillingFields(account("acct_free")),
    );
    expect(billingOnly(newAccountBilling("acct_free"))).toStrictEqual(
      fixture("get-not-found").seed.accounts[0],
    );
  });
});
