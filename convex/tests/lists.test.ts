// The store's lists beyond the fixtures: every call reads only through its
// indexes (index ranges, no filters, only its matches read), and the list
// rules at their edges: instants to the nanosecond and any offset, limits,
// accountId order and paging to a null cursor.

import { describe, expect, test } from "vitest";
import { type AccountBilling } from "../billing/model";
import {
  account,
  casBody,
  fixture,
  newBackend,
  P,
  recordDatabase,
  seed,
  seeded,
  send,
  quietConsole,
} from "./harness.test-utils";

quietConsole();

const ids = (accounts: unknown) =>
  (accounts as AccountBilling[]).map((a) => a.accountId);

// ---------------------------------------------------------------------------
// 40 accounts that match no list, and a few that match each one.
const ENTITLED_PRO = {
  entitled: true,
  tier: "pro",
  expiresAt: "2026-12-02T00:00:00Z",
} as const;
const SUBSCRIPTION = fixture("get-found").seed.accounts[0].subscriptions[0];

function population(): AccountBilling[] {
  const quiet = Array.from({ length: 40 }, (_, i) =>
    account(`acct_q${String(i).padStart(2, "0")}`),
  );
  return [
    ...quiet,
    account("acct_m1", { desiredEntitlement: ENTITLED_PRO }),
    account("acct_m2", {
      desiredEntitlement: ENTITLED_PRO,
      provisionedEntitlement: { ...ENTITLED_PRO, tier: "starter", version: 3 },
    }),
    account("acct_e1", {
      desiredEntitlement: {
        ...ENTITLED_PRO,
        expiresAt: "2026-11-10T00:00:00Z",
      },
      provisionedEntitlement: {
        ...ENTITLED_PRO,
        expiresAt: "2026-11-10T00:00:00Z",
        version: 1,
      },
    }),
    account("acct_e2", { billingStatus: "past_due" }),
    account("acct_s1", { subscriptions: [SUBSCRIPTION] }),
    account("acct_s2", { subscriptions: [SUBSCRIPTION] }),
    account("acct_s3", { subscriptions: [SUBSCRIPTION] }),
    account("acct_p1", {
      pendingPaypalCancellation: {
        subscriptionId: "I-1",
        queuedAt: "2026-11-14T08:00:00Z",
        attempts: 0,
      },
    }),
  ];
}

describe("every call reads only through its indexes", () => {
  test.each([
    [P.get, { accountId: "acct_q07" }, ["accounts.by_accountId"], 1],
    [P.mismatches, { limit: 100 }, ["accounts.by_needsProvisioningPush"], 2],
    [
      P.expired,
      { now: "2026-11-15T12:00:00Z", limit: 100 },
      ["accounts.by_billingStatus", "accounts.by_entitledUntil"],
      2,
    ],
    [
      P.subscribers,
      { cursor: null, limit: 2 },
      ["accounts.by_hasPoloSubscription"],
      3,
    ],
    [
      P.subscribers,
      { cursor: "acct_s2", limit: 2 },
      ["accounts.by_hasPoloSubscription"],
      1,
    ],
    [P.paypal, { limit: 100 }, ["accounts.by_pendingPaypalCancellation"], 1],
  ] as const)("%s %j", async (path, body, indexes, maxRead) => {
    const t = newBackend();
    await seed(t, population());
    const recording = recordDatabase();
    const answer = await send(t, path, body);
    recording.stop();
    expect(answer.status).toBe(200);
    expect(recording.queries.map((q) => q.source.indexName)).toEqual(indexes);
    for (const query of recording.queries) {
      expect(query.source.type).toBe("IndexRange");
      expect(query.operators.filter((op) => "filter" in op)).toEqual([]);
    }
    // 48 accounts stored; a call reads only its matches (plus one look-ahead when paging).
    expect(recording.documentsRead()).toBeLessThanOrEqual(maxRead);
  });

  test("compare-and-set finds the account through by_accountId", async () => {
    const t = await seeded("cas-ok");
    await seed(t, population());
    const recording = recordDatabase();
    expect((await send(t, P.cas, casBody())).status).toBe(200);
    recording.stop();
    expect(recording.queries.map((q) => q.source.indexName)).toEqual([
      "accounts.by_accountId",
    ]);
    expect(recording.documentsRead()).toBe(1);
  });

  test("the lists' answers over the population", async () => {
    const t = newBackend();
    await seed(t, population());
    expect(
      ids((await send(t, P.mismatches, { limit: 100 })).body.accounts),
    ).toEqual(["acct_m1", "acct_m2"]);
    expect(
      ids(
        (await send(t, P.expired, { now: "2026-11-15T12:00:00Z", limit: 100 }))
          .body.accounts,
      ),
    ).toEqual(["acct_e1", "acct_e2"]);
    expect(
      ids((await send(t, P.paypal, { limit: 100 })).body.accounts),
    ).toEqual(["acct_p1"]);
  });
});

// ---------------------------------------------------------------------------
describe("the list rules at their edges", () => {
  test("provisioning mismatch compares entitlements, times by instant", async () => {
    const t = newBackend();
    const provisioned = (changes: object) => ({
      ...ENTITLED_PRO,
      version: 1,
      ...changes,
    });
    await seed(t, [
      account("acct_a_same", {
        desiredEntitlement: ENTITLED_PRO,
        provisionedEntitlement: provisioned({}),
      }),
      account("acct_b_same_instant", {
        desiredEntitlement: ENTITLED_PRO,
        provisionedEntitlement: provisioned({
          expiresAt: "2026-12-02T01:00:00.000+01:00",
        }),
      }),
      account("acct_c_other_version_only", {
        desiredEntitlement: ENTITLED_PRO,
        provisionedEntitlement: provisioned({ version: 9 }),
      }),
      account("acct_d_never_provisioned_free"),
      account("acct_e_tier", {
        desiredEntitlement: ENTITLED_PRO,
        provisionedEntitlement: provisioned({ tier: "starter" }),
      }),
      account("acct_f_expiry", {
        desiredEntitlement: ENTITLED_PRO,
        provisionedEntitlement: provisioned({
          expiresAt: "2026-12-02T00:00:00.000000001Z",
        }),
      }),
      account("acct_g_revoked", { provisionedEntitlement: provisioned({}) }),
      account("acct_h_never_provisioned_pro", {
        desiredEntitlement: ENTITLED_PRO,
      }),
    ]);
    const all = await send(t, P.mismatches, { limit: 100 });
    expect(ids(all.body.accounts)).toEqual([
      "acct_e_tier",
      "acct_f_expiry",
      "acct_g_revoked",
      "acct_h_never_provisioned_pro",
    ]);
    const firstTwo = await send(t, P.mismatches, { limit: 2 });
    expect(ids(firstTwo.body.accounts)).toEqual([
      "acct_e_tier",
      "acct_f_expiry",
    ]);
  });

  test("expired: expiry <= now (to the nanosecond, any offset), or past_due; first `limit` by accountId", async () => {
    const t = newBackend();
    const entitledUntil = (expiresAt: string | null) => ({
      desiredEntitlement: { ...ENTITLED_PRO, expiresAt },
    });
    await seed(t, [
      account("acct_a_at_now", entitledUntil("2026-11-15T12:00:00Z")),
      account(
        "acct_b_1ns_after",
        entitledUntil("2026-11-15T12:00:00.000000001Z"),
      ),
      account(
        "acct_c_1ns_before",
        entitledUntil("2026-11-15T11:59:59.999999999Z"),
      ),
      account(
        "acct_d_offset_before",
        entitledUntil("2026-11-15T12:30:00+01:00"),
      ),
      account(
        "acct_e_offset_after",
        entitledUntil("2026-11-15T11:30:00-01:00"),
      ),
      account("acct_f_no_end", entitledUntil(null)),
      account("acct_g_not_entitled", {
        desiredEntitlement: {
          entitled: false,
          tier: "free",
          expiresAt: "2026-01-01T00:00:00Z",
        },
      }),
      account("acct_h_past_due", { billingStatus: "past_due" }),
      account("acct_i_past_due_and_lapsed", {
        billingStatus: "past_due",
        ...entitledUntil("2026-11-01T00:00:00Z"),
      }),
      account("acct_j_canceled", { billingStatus: "canceled" }),
    ]);
    const now = "2026-11-15T12:00:00Z";
    const all = await send(t, P.expired, { now, limit: 100 });
    expect(ids(all.body.accounts)).toEqual([
      "acct_a_at_now",
      "acct_c_1ns_before",
      "acct_d_offset_before",
      "acct_h_past_due",
      "acct_i_past_due_and_lapsed",
    ]);
    const three = await send(t, P.expired, { now, limit: 3 });
    expect(ids(three.body.accounts)).toEqual([
      "acct_a_at_now",
      "acct_c_1ns_before",
      "acct_d_offset_before",
    ]);
    const earlier = await send(t, P.expired, {
      now: "2026-11-15T11:59:59.999999999Z",
      limit: 100,
    });
    expect(ids(earlier.body.accounts)).toEqual([
      "acct_c_1ns_before",
      "acct_d_offset_before",
      "acct_h_past_due",
      "acct_i_past_due_and_lapsed",
    ]);
  });

  test("polo subscribers: pages in accountId order until a null cursor", async () => {
    const t = newBackend();
    const names = [
      "acct_s5",
      "acct_s1",
      "acct_x_free",
      "acct_s3",
      "acct_s2",
      "acct_s4",
    ];
    await seed(
      t,
      names.map((id) =>
        account(
          id,
          id.includes("free") ? {} : { subscriptions: [SUBSCRIPTION] },
        ),
      ),
    );
    for (const [limit, pages] of [
      [
        2,
        [
          [["acct_s1", "acct_s2"], "acct_s2"],
          [["acct_s3", "acct_s4"], "acct_s4"],
          [["acct_s5"], null],
        ],
      ],
      [5, [[["acct_s1", "acct_s2", "acct_s3", "acct_s4", "acct_s5"], null]]],
      [1000, [[["acct_s1", "acct_s2", "acct_s3", "acct_s4", "acct_s5"], null]]],
    ] as const) {
      let cursor: string | null = null;
      for (const [accountIds, next] of pages) {
        const page = await send(t, P.subscribers, { cursor, limit });
        expect(page.body).toStrictEqual({ accountIds, cursor: next });
        cursor = next;
      }
    }
    const past = await send(t, P.subscribers, { cursor: "acct_s9", limit: 2 });
    expect(past.body).toStrictEqual({ accountIds: [], cursor: null });
  });

  test("pending PayPal cancellations: by accountId, limited", async () => {
    const t = newBackend();
    const pending = {
      subscriptionId: "I-1",
      queuedAt: "2026-11-14T08:00:00Z",
      attempts: 2,
    };
    await seed(
      t,
      ["acct_c", "acct_a", "acct_b"].map((id) =>
        account(id, { pendingPaypalCancellation: pending }),
      ),
    );
    expect(ids((await send(t, P.paypal, { limit: 2 })).body.accounts)).toEqual([
      "acct_a",
      "acct_b",
    ]);
  });
});
