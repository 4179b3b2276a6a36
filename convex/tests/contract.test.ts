// The account-store contract, Convex side: every fixture in
// tests/contract/convex is seeded, its request is signed and sent through the
// real HTTP router, and the answer must be exactly the fixture's response;
// when the fixture has `expect`, the stored accounts and audit rows must be
// exactly those too, and when it has none, nothing may have changed.

import { afterEach, describe, expect, test, vi } from "vitest";
import { billingIndexOf } from "../billing/model";
import {
  billingOnly,
  dump,
  failDatabase,
  fixtures,
  newBackend,
  PATHS,
  seed,
  send,
} from "./harness.test-utils";

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("contract fixtures", () => {
  test("the fixture set covers every call (29 files, 7 paths)", () => {
    expect(fixtures).toHaveLength(29);
    expect(PATHS).toEqual([
      "/billing/v1/accounts/acknowledge-provisioning",
      "/billing/v1/accounts/compare-and-set",
      "/billing/v1/accounts/expired",
      "/billing/v1/accounts/get",
      "/billing/v1/accounts/pending-paypal-cancellations",
      "/billing/v1/accounts/polo-subscribers",
      "/billing/v1/accounts/provisioning-mismatches",
    ]);
    for (const [, f] of fixtures) expect(f.request.method).toBe("POST");
  });

  test.each(fixtures)("%s", async (_name, f) => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const t = newBackend();
    await seed(t, f.seed.accounts, f.seed.auditRows ?? []);
    const before = await dump(t);

    // `simulate: "internal_error"`: the database itself fails under the
    // functions (see failDatabase), as in an outage.
    const heal = f.simulate === "internal_error" ? failDatabase() : () => {};
    let answer;
    try {
      answer = await send(t, f.request.path, f.request.body);
    } finally {
      heal();
    }

    expect(answer.status).toBe(f.response.status);
    expect(answer.body).toStrictEqual(f.response.body);
    expect(answer.headers.get("content-type")).toBe("application/json");

    const after = await dump(t);
    if (f.expect) {
      if (f.expect.accounts) {
        expect(after.accounts.map(billingOnly)).toStrictEqual(
          f.expect.accounts,
        );
        // The index keys stored with each account are the ones its fields imply.
        for (const stored of after.accounts) {
          expect(stored.billingIndex).toStrictEqual(
            billingIndexOf(billingOnly(stored) as never),
          );
        }
      }
      if (f.expect.auditRows) {
        expect(after.auditRows).toStrictEqual(f.expect.auditRows);
      }
    } else {
      // Reads, errors: nothing written.
      expect(after).toStrictEqual(before);
    }
  });
});
