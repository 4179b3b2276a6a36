// What the store refuses, and what it never offers: a malformed request is a
// 400 naming the field, never the value, with nothing written; a body over
// 256 KiB is a 413; and no public function can change billing state (every
// query, mutation and action is internal).

import { describe, expect, test } from "vitest";
import {
  casBody,
  dump,
  modules,
  P,
  seeded,
  send,
  quietConsole,
} from "./harness.test-utils";

quietConsole();

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
    [
      P.mismatches,
      { cursor: null, limit: 0 },
      "limit: must be an integer from 1 to 1000",
    ],
    [
      P.mismatches,
      { cursor: null, limit: 1001 },
      "limit: must be an integer from 1 to 1000",
    ],
    [P.mismatches, { limit: 1 }, "cursor: missing"],
    [P.mismatches, { cursor: 5, limit: 1 }, "cursor: must be a string or null"],
    [P.paypal, { cursor: null, limit: "100" }, "limit: must be a number"],
    [P.paypal, { limit: 1 }, "cursor: missing"],
    [
      P.expired,
      { now: "2026-13-01T00:00:00Z", cursor: null, limit: 1 },
      "now: must be an RFC 3339 time",
    ],
    [P.expired, { cursor: null, limit: 1 }, "now: missing"],
    [P.expired, { now: "2026-11-15T12:00:00Z", limit: 1 }, "cursor: missing"],
    [
      P.expired,
      { now: "2026-11-15T12:00:00Z", cursor: "somewhere", limit: 1 },
      "cursor: must be a cursor from a previous page or null",
    ],
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
    expect(checked).toHaveLength(7);
  });
});
