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
    [
      P.mismatches,
      { cursor: null, limit: 100 },
      ["accounts.by_needsProvisioningPush"],
      2,
    ],
    [
      P.expired,
      { now: "2026-11-15T12:00:00Z", cursor: null, limit: 100 },
      ["accounts.by_entitledUntil", "accounts.by_billingStatus"],
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
    [
      P.paypal,
      { cursor: null, limit: 100 },
      ["accounts.by_pendingPaypalCancellation"],
      1,
    ],
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
    const first = { cursor: null, limit: 100 };
    expect((await send(t, P.mismatches, first)).body).toStrictEqual({
      accounts: expect.any(Array),
      cursor: null,
    });
    expect(ids((await send(t, P.mismatches, first)).body.accounts)).toEqual([
      "acct_m1",
      "acct_m2",
    ]);
    const now = "2026-11-15T12:00:00Z";
    expect(
      ids((await send(t, P.expired, { now, ...first })).body.accounts),
    ).toEqual(["acct_e1", "acct_e2"]);
    expect(ids((await send(t, P.paypal, first)).body.accounts)).toEqual([
      "acct_p1",
    ]);
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
    const all = await send(t, P.mismatches, { cursor: null, limit: 100 });
    expect(ids(all.body.accounts)).toEqual([
      "acct_e_tier",
      "acct_f_expiry",
      "acct_g_revoked",
      "acct_h_never_provisioned_pro",
    ]);
    const firstTwo = await send(t, P.mismatches, { cursor: null, limit: 2 });
    expect(firstTwo.body).toStrictEqual({
      accounts: all.body.accounts.slice(0, 2),
      cursor: "acct_f_expiry",
    });
  });

  test("expired: expiry <= now (to the nanosecond, any offset), or past_due; lapsed by expiry first, then past_due", async () => {
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
    const all = await send(t, P.expired, { now, cursor: null, limit: 100 });
    // Lapsed by expiry (i 11-01, d 11:30Z, c, a 12:00Z), then past_due by
    // accountId (i is listed once, in the first pass).
    expect(all.body).toStrictEqual({
      accounts: expect.any(Array),
      cursor: null,
    });
    expect(ids(all.body.accounts)).toEqual([
      "acct_i_past_due_and_lapsed",
      "acct_d_offset_before",
      "acct_c_1ns_before",
      "acct_a_at_now",
      "acct_h_past_due",
    ]);
    const three = await send(t, P.expired, { now, cursor: null, limit: 3 });
    expect(ids(three.body.accounts)).toEqual([
      "acct_i_past_due_and_lapsed",
      "acct_d_offset_before",
      "acct_c_1ns_before",
    ]);
    // b is read (its expiry key is now's millisecond) and left out, and
    // acct_i is read again in the past_due pass and left out: short pages.
    const rest: string[] = [];
    let cursor = three.body.cursor;
    while (cursor !== null) {
      const page = await send(t, P.expired, { now, cursor, limit: 3 });
      expect(page.body.accounts.length).toBeLessThanOrEqual(3);
      rest.push(...ids(page.body.accounts));
      cursor = page.body.cursor;
    }
    expect(rest).toEqual(["acct_a_at_now", "acct_h_past_due"]);
    const earlier = await send(t, P.expired, {
      now: "2026-11-15T11:59:59.999999999Z",
      cursor: null,
      limit: 100,
    });
    expect(ids(earlier.body.accounts)).toEqual([
      "acct_i_past_due_and_lapsed",
      "acct_d_offset_before",
      "acct_c_1ns_before",
      "acct_h_past_due",
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

  test("pending PayPal cancellations: by accountId, paged", async () => {
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
    const first = await send(t, P.paypal, { cursor: null, limit: 2 });
    expect(ids(first.body.accounts)).toEqual(["acct_a", "acct_b"]);
    expect(first.body.cursor).toBe("acct_b");
    const last = await send(t, P.paypal, { cursor: "acct_b", limit: 2 });
    expect(ids(last.body.accounts)).toEqual(["acct_c"]);
    expect(last.body.cursor).toBeNull();
  });
});

// ---------------------------------------------------------------------------
describe("paging through a list with its cursor", () => {
  const NOW = "2026-11-15T12:00:00Z";
  const pending = {
    subscriptionId: "I-1",
    queuedAt: "2026-11-14T08:00:00Z",
    attempts: 0,
  };
  const lapsedAt = (expiresAt: string) => ({
    desiredEntitlement: { ...ENTITLED_PRO, expiresAt },
  });
  const n = (i: number) => String(i).padStart(2, "0");

  // Mismatched, pending and expired accounts among quiet ones; several
  // lapsed accounts share an expiry millisecond, so a page boundary falls
  // inside one; ids are stored out of order.
  function crowd(): { accounts: AccountBilling[]; expired: string[] } {
    const accounts: AccountBilling[] = [];
    const expired: string[] = [];
    for (let i = 22; i >= 0; i--) {
      accounts.push(
        account(`acct_m${n(i)}`, { desiredEntitlement: ENTITLED_PRO }),
      );
      accounts.push(
        account(`acct_p${n(i)}`, { pendingPaypalCancellation: pending }),
      );
    }
    for (let i = 0; i < 7; i++) {
      accounts.push(account(`acct_d${n(i)}`, { billingStatus: "past_due" }));
      expired.push(`acct_d${n(i)}`);
    }
    for (let i = 0; i < 11; i++) {
      const at = `2026-11-${i < 6 ? "10" : "12"}T00:00:00Z`;
      // Entitled past expiry and acknowledged: expired, no mismatch.
      accounts.push(
        account(`acct_l${n(10 - i)}`, {
          ...lapsedAt(at),
          provisionedEntitlement: {
            ...ENTITLED_PRO,
            expiresAt: at,
            version: 0,
          },
        }),
      );
      expired.push(`acct_l${n(10 - i)}`);
    }
    accounts.push(
      account("acct_l99_after_now_same_ms", {
        ...lapsedAt("2026-11-15T12:00:00.000000001Z"),
        provisionedEntitlement: {
          ...ENTITLED_PRO,
          expiresAt: "2026-11-15T12:00:00.000000001Z",
          version: 0,
        },
      }),
    );
    accounts.push(
      account("acct_d99_past_due_and_lapsed", {
        billingStatus: "past_due",
        ...lapsedAt("2026-11-10T00:00:00Z"),
        provisionedEntitlement: {
          ...ENTITLED_PRO,
          expiresAt: "2026-11-10T00:00:00Z",
          version: 0,
        },
      }),
    );
    expired.push("acct_d99_past_due_and_lapsed");
    for (let i = 0; i < 10; i++) accounts.push(account(`acct_q${n(i)}`));
    return { accounts, expired };
  }

  async function pageThrough(
    t: ReturnType<typeof newBackend>,
    path: string,
    body: object,
    limit: number,
  ) {
    const pages: { accounts: string[]; cursor: string | null; read: number }[] =
      [];
    let cursor: string | null = null;
    do {
      const recording = recordDatabase();
      const answer = await send(t, path, { ...body, cursor, limit });
      recording.stop();
      expect(answer.status).toBe(200);
      cursor = answer.body.cursor as string | null;
      pages.push({
        accounts: ids(answer.body.accounts),
        cursor,
        read: recording.documentsRead(),
      });
      expect(pages.length).toBeLessThan(200);
    } while (cursor !== null);
    return pages;
  }

  test.each([1, 2, 3, 5, 7, 1000])(
    "mismatches and pending PayPal cancellations: every account exactly once, in accountId order, %i at a time",
    async (limit) => {
      const t = newBackend();
      await seed(t, crowd().accounts);
      for (const [path, prefix] of [
        [P.mismatches, "acct_m"],
        [P.paypal, "acct_p"],
      ] as const) {
        const pages = await pageThrough(t, path, {}, limit);
        const all = pages.flatMap((p) => p.accounts);
        const expected = Array.from({ length: 23 }, (_, i) => prefix + n(i));
        expect(all).toEqual(expected);
        for (const [i, page] of pages.entries()) {
          const last = i === pages.length - 1;
          // Full pages until the last; the cursor is a full page's last id.
          if (!last) expect(page.accounts).toHaveLength(limit);
          expect(page.accounts.length).toBeLessThanOrEqual(limit);
          if (!last) expect(page.cursor).toBe(page.accounts.at(-1));
          expect(page.read).toBeLessThanOrEqual(limit + 1);
        }
      }
    },
  );

  test.each([1, 2, 3, 5, 6, 7, 1000])(
    "expired: every account exactly once across both passes, %i at a time, each page bounded",
    async (limit) => {
      const t = newBackend();
      const { accounts, expired } = crowd();
      await seed(t, accounts);
      const pages = await pageThrough(t, P.expired, { now: NOW }, limit);
      const all = pages.flatMap((p) => p.accounts);
      expect([...all].sort()).toEqual([...expired].sort());
      expect(new Set(all).size).toBe(all.length);
      // The lapsed pass first (acct_d99 is lapsed too), then past_due by
      // accountId.
      expect(all.slice(-7)).toEqual(
        Array.from({ length: 7 }, (_, i) => `acct_d${n(i)}`),
      );
      for (const page of pages) {
        expect(page.accounts.length).toBeLessThanOrEqual(limit);
        expect(page.read).toBeLessThanOrEqual(2 * limit + 1);
      }
    },
  );

  test("a cursor past the end answers an empty last page", async () => {
    const t = newBackend();
    await seed(t, crowd().accounts);
    for (const path of [P.mismatches, P.paypal]) {
      const past = await send(t, path, { cursor: "acct_z", limit: 2 });
      expect(past.body).toStrictEqual({ accounts: [], cursor: null });
    }
    const past = await send(t, P.expired, {
      now: NOW,
      cursor: "past_due:acct_z",
      limit: 2,
    });
    expect(past.body).toStrictEqual({ accounts: [], cursor: null });
  });

  test.each([
    [P.mismatches, {}],
    [P.paypal, {}],
    [P.expired, { now: NOW }],
  ])("%s enforces the limit: 1 to 1000", async (path, body) => {
    const t = newBackend();
    await seed(t, crowd().accounts);
    for (const limit of [0, 1001, 2.5]) {
      const answer = await send(t, path, { ...body, cursor: null, limit });
      expect(answer).toMatchObject({
        status: 400,
        body: {
          error: "invalid_request",
          detail: "limit: must be an integer from 1 to 1000",
        },
      });
    }
    const one = await send(t, path, { ...body, cursor: null, limit: 1 });
    expect(one.body.accounts).toHaveLength(1);
  });
});
