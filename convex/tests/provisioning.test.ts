// The provisioning protocol's Convex half beyond the fixtures: a recorded
// push intent newer than the acknowledgement makes an account need a push;
// acknowledgements are monotonic, bump no version and fail no concurrent
// compare-and-set; a write read before an acknowledgement landed keeps it;
// documents written before the intent existed read it as null.

import { describe, expect, test } from "vitest";
import { internal } from "../_generated/api";
import { billingIndexOf, type AccountBilling } from "../billing/model";
import {
  account,
  billingOnly,
  casBody,
  dump,
  newBackend,
  P,
  seed,
  send,
  quietConsole,
} from "./harness.test-utils";

quietConsole();

const PRO = {
  entitled: true,
  tier: "pro",
  expiresAt: "2026-12-02T00:00:00Z",
} as const;
const ids = (accounts: unknown) =>
  (accounts as AccountBilling[]).map((a) => a.accountId);
const acked = (version: number) => ({ ...PRO, version });
const intent = (version: number) => ({
  ...PRO,
  version,
  at: "2026-11-15T12:00:00Z",
});

describe("a push intent", () => {
  test("newer than the acknowledgement makes the account need a push; not newer, it does not", async () => {
    const t = newBackend();
    await seed(t, [
      account("acct_a_intent_newer", {
        desiredEntitlement: PRO,
        provisionedEntitlement: acked(1),
        provisioningIntent: intent(3),
        version: 3,
      }),
      account("acct_b_intent_acknowledged", {
        desiredEntitlement: PRO,
        provisionedEntitlement: acked(3),
        provisioningIntent: intent(3),
        version: 4,
      }),
      account("acct_c_intent_never_acknowledged", {
        desiredEntitlement: PRO,
        provisionedEntitlement: null,
        provisioningIntent: intent(1),
        version: 1,
      }),
      account("acct_d_free_intent_unacknowledged", {
        provisioningIntent: {
          entitled: false,
          tier: "free",
          expiresAt: null,
          version: 2,
          at: "2026-11-15T12:00:00Z",
        },
        version: 2,
      }),
    ]);
    const listed = await send(t, P.mismatches, { cursor: null, limit: 100 });
    expect(ids(listed.body.accounts)).toEqual([
      "acct_a_intent_newer",
      "acct_c_intent_never_acknowledged",
      "acct_d_free_intent_unacknowledged",
    ]);
  });

  test("is read as null on a document written before it existed, and such a document is not listed for it", async () => {
    const t = newBackend();
    const old = account("acct_old", {
      desiredEntitlement: PRO,
      provisionedEntitlement: acked(1),
      version: 1,
    });
    await t.run(async (ctx) => {
      const { provisioningIntent, ...withoutIntent } = old;
      void provisioningIntent;
      await ctx.db.insert("accounts", {
        ...withoutIntent,
        billingIndex: billingIndexOf(old),
      });
    });
    const got = await send(t, P.get, { accountId: "acct_old" });
    expect(got.status).toBe(200);
    expect(got.body.account.provisioningIntent).toBeNull();
    expect(got.body.account).toStrictEqual(old);
    const listed = await send(t, P.mismatches, { cursor: null, limit: 100 });
    expect(listed.body.accounts).toEqual([]);
  });
});

describe("acknowledge-provisioning", () => {
  const pushing = account("acct_1", {
    desiredEntitlement: PRO,
    provisionedEntitlement: acked(1),
    provisioningIntent: intent(3),
    version: 3,
  });

  test("records the newest acknowledgement only, bumps no version and writes no audit row", async () => {
    const t = newBackend();
    await seed(t, [pushing]);
    const ack = (version: number) =>
      send(t, P.ack, { accountId: "acct_1", acknowledged: acked(version) });

    expect((await ack(2)).body).toStrictEqual({ recorded: true });
    expect((await ack(3)).body).toStrictEqual({ recorded: true });
    // A late answer to an older push, then a repeat of the newest: no change.
    expect((await ack(2)).body).toStrictEqual({ recorded: false });
    expect((await ack(3)).body).toStrictEqual({ recorded: false });

    const after = await dump(t);
    const stored = after.accounts[0];
    expect(billingOnly(stored)).toStrictEqual({
      ...pushing,
      provisionedEntitlement: acked(3),
    });
    expect(stored.billingIndex.needsProvisioningPush).toBe(false);
    expect(after.auditRows).toEqual([]);
  });

  test("never makes a concurrent compare-and-set fail, and that write keeps it", async () => {
    const t = newBackend();
    await seed(t, [pushing]);
    // A writer reads version 3 (acknowledgement v1) ...
    const read = (await send(t, P.get, { accountId: "acct_1" })).body
      .account as AccountBilling;
    // ... the push of version 3 is acknowledged meanwhile ...
    await send(t, P.ack, { accountId: "acct_1", acknowledged: acked(3) });
    // ... and the writer's compare-and-set from version 3 still lands.
    const body = casBody();
    const next = { ...read, cancelAtPeriodEnd: true, version: 4 };
    const written = await t.mutation(internal.billing.store.compareAndSet, {
      expectedVersion: 3,
      account: next,
      audit: body.audit,
    } as never);
    expect(written).toStrictEqual({ kind: "written", version: 4 });
    const stored = (await dump(t)).accounts[0];
    expect(stored.cancelAtPeriodEnd).toBe(true);
    expect(stored.provisionedEntitlement).toStrictEqual(acked(3));
    expect(stored.billingIndex).toStrictEqual(
      billingIndexOf(billingOnly(stored) as never),
    );
  });

  test("a malformed acknowledgement names the field and changes nothing", async () => {
    const t = newBackend();
    await seed(t, [pushing]);
    const before = await dump(t);
    for (const [acknowledged, detail] of [
      [{ ...PRO }, "acknowledged.version: missing"],
      [
        { ...PRO, version: -1 },
        "acknowledged.version: must be a non-negative integer",
      ],
      [
        { ...PRO, version: 1, tier: "gold" },
        "acknowledged.tier: must be one of free, starter, pro, enterprise",
      ],
    ] as const) {
      const answer = await send(t, P.ack, {
        accountId: "acct_1",
        acknowledged,
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toStrictEqual({ error: "invalid_request", detail });
    }
    expect(await dump(t)).toStrictEqual(before);
  });
});
