// Compare-and-set beyond the fixtures: all or nothing. A matching version
// writes the account and its audit row together; a version conflict, a wrong
// new version, a failure midway or a duplicated accountId writes nothing; and
// the app's own fields on its accounts document survive a write.

import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { convexTest } from "convex-test";
import { describe, expect, test, vi } from "vitest";
import { internal } from "../_generated/api";
import schema from "../schema";
import {
  accountBillingFields,
  billingIndex,
  newAccountBilling,
} from "../billing/model";
import {
  account,
  billingOnly,
  casBody,
  dump,
  failDatabase,
  fixture,
  modules,
  P,
  seed,
  seeded,
  send,
  SIGNING_SECRET,
  quietConsole,
} from "./harness.test-utils";

quietConsole();

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
    expect(after.auditRows).toStrictEqual(fixture("cas-ok").expect?.auditRows);
  });

  test("the audit row's before and after are the stored and the written state, never the caller's", async () => {
    const t = await seeded("cas-ok");
    const forged = {
      ...casBody(),
      audit: {
        ...casBody().audit,
        before: { version: 0, provider: "polo", planTier: "enterprise" },
        after: { version: 1, provider: "polo", planTier: "free" },
      },
    };
    const before = await dump(t);

    const answer = await send(t, P.cas, forged);

    expect(answer.status).toBe(400);
    expect(answer.body).toStrictEqual({
      error: "invalid_request",
      detail: "audit.before: unknown field",
    });
    expect(await dump(t)).toStrictEqual(before);
    const written = await send(t, P.cas, casBody());
    expect(written.status).toBe(200);
    const [row] = (await dump(t)).auditRows;
    expect(row.before).toStrictEqual({
      version: 0,
      provider: "polo",
      planTier: "free",
      billingStatus: "none",
      entitled: false,
      premiumExpiresAt: null,
    });
    expect(row.after.planTier).toBe(casBody().account.planTier);
    expect(row.after.version).toBe(1);
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
