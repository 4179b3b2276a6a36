// The store's behaviour beyond the fixtures: compare-and-set is all or
// nothing, every list reads only through its indexes, the list rules at their
// edges, request validation, and that no public function touches billing.

import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { convexTest } from "convex-test";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { internal } from "../_generated/api";
import schema from "../schema";
import {
  accountBillingFields,
  billingIndex,
  billingIndexOf,
  instantNanos,
  newAccountBilling,
  storedBillingFields,
  type AccountBilling,
} from "../billing/model";
import {
  account,
  billingOnly,
  dump,
  failDatabase,
  fixture,
  modules,
  newBackend,
  recordDatabase,
  seed,
  send,
  SIGNING_SECRET,
  type Backend,
} from "./harness.test-utils";

const P = {
  get: "/billing/v1/accounts/get",
  cas: "/billing/v1/accounts/compare-and-set",
  mismatches: "/billing/v1/accounts/provisioning-mismatches",
  expired: "/billing/v1/accounts/expired",
  subscribers: "/billing/v1/accounts/polo-subscribers",
  paypal: "/billing/v1/accounts/pending-paypal-cancellations",
};

beforeEach(() => {
  vi.spyOn(console, "error").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function casBody(name = "cas-ok") {
  return fixture(name).request.body as {
    expectedVersion: number;
    account: AccountBilling;
    audit: Record<string, unknown>;
  };
}

async function seeded(name: string): Promise<Backend> {
  const t = newBackend();
  const f = fixture(name);
  await seed(t, f.seed.accounts, f.seed.auditRows ?? []);
  return t;
}

const ids = (accounts: unknown) =>
  (accounts as AccountBilling[]).map((a) => a.accountId);

// ---------------------------------------------------------------------------
describe("compare-and-set", () => {
  test("a matching version writes the account and its audit row, together", async () => {
    const t = await seeded("cas-ok");
    const body = casBody();
    const result = await t.mutation(
      internal.billing.store.compareAndSet,
      body as never,
    );
    expect(result).toStrictEqual({ kind: "written", version: 1 });
    const after = await dump(t);
    expect(after.accounts.map(billingOnly)).toStrictEqual([body.account]);
    expect(after.auditRows).toStrictEqual([
      { accountId: body.account.accountId, ...body.audit },
    ]);
  });

  test("a version mismatch is a typed conflict with the current version, and writes nothing", async () => {
    const t = await seeded("cas-conflict"); // stored at version 2
    const before = await dump(t);
    const body = casBody("cas-conflict");
    for (const expectedVersion of [0, 1, 3, 41]) {
      const result = await t.mutation(internal.billing.store.compareAndSet, {
        ...body,
        expectedVersion,
        account: { ...body.account, version: expectedVersion + 1 },
      } as never);
      expect(result).toStrictEqual({
        kind: "conflict",
        conflict: true,
        currentVersion: 2,
      });
      const answer = await send(t, P.cas, {
        ...body,
        expectedVersion,
        account: { ...body.account, version: expectedVersion + 1 },
      });
      expect(answer).toMatchObject({
        status: 409,
        body: { error: "version_conflict", currentVersion: 2 },
      });
    }
    expect(await dump(t)).toStrictEqual(before);
  });

  test("two writers from the same version: the second conflicts, the first's write stands alone", async () => {
    const t = await seeded("cas-ok");
    const first = casBody();
    const second = structuredClone(first);
    second.account.planTier = "enterprise";
    second.audit.eventId = "msg_second";
    expect((await send(t, P.cas, first)).status).toBe(200);
    const lost = await send(t, P.cas, second);
    expect(lost).toMatchObject({ status: 409, body: { currentVersion: 1 } });
    const after = await dump(t);
    expect(after.accounts.map(billingOnly)).toStrictEqual([first.account]);
    expect(after.auditRows.map((r) => r.eventId)).toEqual(["msg_2Xk9"]);
  });

  test("a failure after the account write rolls the whole mutation back", async () => {
    const t = await seeded("cas-ok");
    const before = await dump(t);
    const seen: string[] = [];
    const heal = failDatabase(["1.0/insert"], seen); // the audit row's insert
    const answer = await send(t, P.cas, casBody());
    heal();
    // The account write did happen inside the mutation before the failure...
    expect(seen.indexOf("1.0/shallowMerge")).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf("1.0/shallowMerge")).toBeLessThan(
      seen.indexOf("1.0/insert"),
    );
    // ...and is not there after it: no account without its audit row.
    expect(answer).toStrictEqual(
      expect.objectContaining({ status: 500, body: { error: "internal" } }),
    );
    expect(await dump(t)).toStrictEqual(before);
  });

  test("the new version must be expectedVersion + 1 (also inside the mutation)", async () => {
    const t = await seeded("cas-invalid");
    const before = await dump(t);
    for (const version of [0, 2, 7]) {
      const body = casBody("cas-invalid");
      body.account.version = version;
      const result = await t.mutation(
        internal.billing.store.compareAndSet,
        body as never,
      );
      expect(result).toStrictEqual({
        kind: "invalid",
        detail: "account.version: must be expectedVersion + 1",
      });
    }
    expect(await dump(t)).toStrictEqual(before);
  });

  test("the app's own fields on its accounts document survive a write", async () => {
    // The app's table: the billing fields merged with its own.
    let accounts = defineTable({
      ...accountBillingFields,
      billingIndex,
      email: v.string(),
    });
    for (const { indexDescriptor, fields } of schema.tables.accounts[
      " indexes"
    ]()) {
      accounts = accounts.index(indexDescriptor, fields as never);
    }
    const appSchema = defineSchema({ ...schema.tables, accounts });
    vi.stubEnv("CONVEX_SIGNING_SECRET", SIGNING_SECRET);
    const t = convexTest(appSchema, modules);
    await t.run(async (ctx) => {
      await ctx.db.insert("accounts", {
        ...newAccountBilling("acct_free"),
        email: "someone@example.com",
      });
    });
    const body = casBody();
    expect((await send(t, P.cas, body)).status).toBe(200);
    const stored = await t.run(
      async (ctx) => await ctx.db.query("accounts").first(),
    );
    expect(stored?.email).toBe("someone@example.com");
    expect(stored?.version).toBe(1);
  });

  test("two documents with one accountId are a data fault: 500, nothing written", async () => {
    const t = await seeded("cas-ok");
    await seed(t, [account("acct_free")]);
    const before = await dump(t);
    const answer = await send(t, P.cas, casBody());
    expect(answer).toMatchObject({ status: 500, body: { error: "internal" } });
    expect(await dump(t)).toStrictEqual(before);
  });
});

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

// ---------------------------------------------------------------------------
describe("request validation: 400 naming the field, never the value, nothing written", () => {
  const cas = () => casBody();
  const withAccount = (change: (a: Record<string, unknown>) => void) => {
    const body = cas();
    change(body.account as unknown as Record<string, unknown>);
    return body;
  };
  test.each([
    [P.get, "{not json", "body: not valid JSON"],
    [P.get, "[]", "body: must be an object"],
    [P.get, {}, "accountId: missing"],
    [
      P.get,
      { accountId: "" },
      "accountId: must be 1 to 128 visible ASCII characters",
    ],
    [
      P.get,
      { accountId: "acct with space" },
      "accountId: must be 1 to 128 visible ASCII characters",
    ],
    [
      P.get,
      { accountId: "a".repeat(129) },
      "accountId: must be 1 to 128 visible ASCII characters",
    ],
    [P.get, { accountId: "acct_free", extra: true }, "extra: unknown field"],
    [
      P.cas,
      { ...cas(), expectedVersion: -1 },
      "expectedVersion: must be a non-negative integer",
    ],
    [
      P.cas,
      { ...cas(), expectedVersion: 0.5 },
      "expectedVersion: must be a non-negative integer",
    ],
    [
      P.cas,
      withAccount((a) => (a.planTier = "gold")),
      "account.planTier: must be one of free, starter, pro, enterprise",
    ],
    [
      P.cas,
      withAccount((a) => (a.premiumExpiresAt = 5)),
      "account.premiumExpiresAt: must be a string or null",
    ],
    [
      P.cas,
      withAccount((a) => (a.renewsAt = "next tuesday")),
      "account.renewsAt: must be an RFC 3339 time or null",
    ],
    [
      P.cas,
      withAccount(
        (a) =>
          ((a.subscriptions as { watermark: string }[])[0].watermark =
            "2026-02-30T00:00:00Z"),
      ),
      "account.subscriptions[0].watermark: must be an RFC 3339 time",
    ],
    [P.cas, withAccount((a) => delete a.paypal), "account.paypal: missing"],
    [
      P.cas,
      withAccount((a) => (a.billingIndex = {})),
      "account.billingIndex: unknown field",
    ],
    [
      P.cas,
      { ...cas(), audit: { ...cas().audit, at: "2026-11-01 00:05:10" } },
      "audit.at: must be an RFC 3339 time",
    ],
    [P.mismatches, { limit: 0 }, "limit: must be an integer from 1 to 1000"],
    [P.mismatches, { limit: 1001 }, "limit: must be an integer from 1 to 1000"],
    [P.paypal, { limit: "100" }, "limit: must be a number"],
    [
      P.expired,
      { now: "2026-13-01T00:00:00Z", limit: 1 },
      "now: must be an RFC 3339 time",
    ],
    [P.expired, { limit: 1 }, "now: missing"],
    [
      P.subscribers,
      { cursor: 5, limit: 1 },
      "cursor: must be a string or null",
    ],
    [P.subscribers, { limit: 1 }, "cursor: missing"],
  ])("%s %j → %s", async (path, body, detail) => {
    const t = await seeded("cas-ok");
    const before = await dump(t);
    const answer = await send(t, path, body);
    expect(answer.status).toBe(400);
    expect(answer.body).toStrictEqual({ error: "invalid_request", detail });
    expect(detail).not.toMatch(/gold|tuesday|2026-|acct/);
    expect(await dump(t)).toStrictEqual(before);
  });

  test("a body over 256 KiB is refused unread: 413", async () => {
    const t = await seeded("cas-ok");
    const answer = await send(t, P.get, {
      accountId: "acct_free",
      pad: "x".repeat(256 * 1024),
    });
    expect(answer).toMatchObject({
      status: 413,
      body: { error: "payload_too_large" },
    });
  });
});

// ---------------------------------------------------------------------------
describe("no public function changes billing state", () => {
  test("every query, mutation and action in convex/ is internal", async () => {
    const checked: string[] = [];
    for (const [path, load] of Object.entries(modules)) {
      // What a deploy bundles: not _generated/, not this folder, and (as the
      // Convex bundler does) no file whose name has two dots.
      const base = path.replace(/^.*\//, "");
      if (
        path.includes("_generated/") ||
        !path.startsWith("../") ||
        path.startsWith("../tests/")
      )
        continue;
      if ((base.match(/\./g) ?? []).length > 1) continue;
      const exports = (await load()) as Record<
        string,
        Record<string, unknown> | undefined
      >;
      for (const [name, value] of Object.entries(exports)) {
        if (!value || !(value.isQuery || value.isMutation || value.isAction))
          continue;
        checked.push(`${path}:${name}`);
        expect({
          fn: `${path}:${name}`,
          internal: value.isInternal,
          public: value.isPublic,
        }).toEqual({
          fn: `${path}:${name}`,
          internal: true,
          public: undefined,
        });
      }
    }
    expect(checked).toHaveLength(6);
  });
});

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
