// The account store's HTTP actions (tests/contract/convex is the contract).
// Every request: size cap, Standard Webhooks signature with
// CONVEX_SIGNING_SECRET (±300 s) over the method and path as well as the
// body (a signature for one route is refused on another), JSON body checked against the call's
// validator, then one internal query or mutation. Answers are JSON:
//
//   401 {"error":"invalid_signature"}            unsigned, wrongly signed, stale
//   400 {"error":"invalid_request","detail":..}  body malformed (names the field)
//   404 {"error":"account_not_found"}            get / compare-and-set
//   409 {"error":"version_conflict","currentVersion":n}
//   413 {"error":"payload_too_large"}
//   500 {"error":"internal"}                     anything else, opaque
//
// Nothing runs before the signature is verified. Logs name the route and the
// kind of problem, never a request body, a header value or the secret (an
// unexpected error's own message is logged, truncated).

import type { PublicHttpAction } from "convex/server";
import { internal } from "../_generated/api";
import { httpAction, type ActionCtx } from "../_generated/server";
import type { AccountBilling } from "./model";

/** A list call's answer: a page of accounts and the next page's cursor. */
type AccountPage = { accounts: AccountBilling[]; cursor: string | null };
import {
  acknowledgeRequest,
  check,
  checkCompareAndSet,
  expiredRequest,
  getRequest,
  pageRequest,
  type Checked,
} from "./requests";
import { signingKeys, verifySignature } from "./signature";

/** Requests larger than this are refused unread (the biggest real one is a few KiB). */
export const MAX_BODY_BYTES = 256 * 1024;

export const BILLING_PATHS = {
  get: "/billing/v1/accounts/get",
  compareAndSet: "/billing/v1/accounts/compare-and-set",
  acknowledgeProvisioning: "/billing/v1/accounts/acknowledge-provisioning",
  provisioningMismatches: "/billing/v1/accounts/provisioning-mismatches",
  expired: "/billing/v1/accounts/expired",
  poloSubscribers: "/billing/v1/accounts/polo-subscribers",
  pendingPaypalCancellations:
    "/billing/v1/accounts/pending-paypal-cancellations",
} as const;

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
    },
  });
}

const INTERNAL = { error: "internal" };

/**
 * The deployment's environment variables (`npx convex env set`). Read through
 * `globalThis` so this typechecks without @types/node.
 */
function environment(): Record<string, string | undefined> {
  return (
    globalThis as unknown as {
      process: { env: Record<string, string | undefined> };
    }
  ).process.env;
}

function describeError(err: unknown): string {
  return err instanceof Error
    ? `${err.name}: ${err.message.slice(0, 300)}`
    : typeof err;
}

/**
 * An HTTP action that answers only verified requests whose body passes
 * `parse`; `run` does the call.
 */
function signedRoute<T>(
  route: string,
  parse: (body: unknown) => Checked<T>,
  run: (ctx: ActionCtx, request: T) => Promise<Response>,
): PublicHttpAction {
  return httpAction(async (ctx, request) => {
    try {
      const keys = await signingKeys(environment().CONVEX_SIGNING_SECRET);
      if (keys === null) {
        console.error(
          `billing ${route}: CONVEX_SIGNING_SECRET is not set or not whsec_<base64> (several separated by spaces while rotating)`,
        );
        return reply(500, INTERNAL);
      }
      const declared = Number(request.headers.get("content-length") ?? "0");
      if (declared > MAX_BODY_BYTES) {
        return reply(413, { error: "payload_too_large" });
      }
      const body = new Uint8Array(await request.arrayBuffer());
      if (body.byteLength > MAX_BODY_BYTES) {
        return reply(413, { error: "payload_too_large" });
      }
      const problem = await verifySignature(
        keys,
        request.headers,
        { method: request.method, path: new URL(request.url).pathname },
        body,
        Math.floor(Date.now() / 1000),
      );
      if (problem !== null) {
        console.warn(`billing ${route}: refused: ${problem}`);
        return reply(401, { error: "invalid_signature" });
      }
      let json: unknown;
      try {
        json = JSON.parse(
          new TextDecoder("utf-8", { fatal: true }).decode(body),
        );
      } catch {
        return reply(400, {
          error: "invalid_request",
          detail: "body: not valid JSON",
        });
      }
      const checked = parse(json);
      if (!checked.ok) {
        console.warn(`billing ${route}: invalid request: ${checked.detail}`);
        return reply(400, { error: "invalid_request", detail: checked.detail });
      }
      return await run(ctx, checked.value);
    } catch (err) {
      // The store failed (or a bug): opaque to the caller, which retries.
      console.error(`billing ${route}: failed: ${describeError(err)}`);
      return reply(500, INTERNAL);
    }
  });
}

export const getAccount: PublicHttpAction = signedRoute(
  "get",
  (body) => check(getRequest, body),
  async (ctx, { accountId }) => {
    const account: AccountBilling | null = await ctx.runQuery(
      internal.billing.store.getAccount,
      {
        accountId,
      },
    );
    return account === null
      ? reply(404, { error: "account_not_found" })
      : reply(200, { account });
  },
);

export const compareAndSet: PublicHttpAction = signedRoute(
  "compare-and-set",
  checkCompareAndSet,
  async (ctx, request) => {
    const result = await ctx.runMutation(
      internal.billing.store.compareAndSet,
      request,
    );
    switch (result.kind) {
      case "written":
        return reply(200, { version: result.version });
      case "conflict":
        return reply(409, {
          error: "version_conflict",
          currentVersion: result.currentVersion,
        });
      case "not_found":
        return reply(404, { error: "account_not_found" });
      case "invalid":
        return reply(400, { error: "invalid_request", detail: result.detail });
    }
  },
);

export const acknowledgeProvisioning: PublicHttpAction = signedRoute(
  "acknowledge-provisioning",
  (body) => check(acknowledgeRequest, body),
  async (ctx, request) => {
    const result = await ctx.runMutation(
      internal.billing.store.acknowledgeProvisioning,
      request,
    );
    switch (result.kind) {
      case "acknowledged":
        return reply(200, { recorded: result.recorded });
      case "not_found":
        return reply(404, { error: "account_not_found" });
      case "invalid":
        return reply(400, { error: "invalid_request", detail: result.detail });
    }
  },
);

export const provisioningMismatches: PublicHttpAction = signedRoute(
  "provisioning-mismatches",
  (body) => check(pageRequest, body),
  async (ctx, { cursor, limit }) => {
    const page: AccountPage = await ctx.runQuery(
      internal.billing.store.listProvisioningMismatches,
      { cursor, limit },
    );
    return reply(200, { accounts: page.accounts, cursor: page.cursor });
  },
);

export const expired: PublicHttpAction = signedRoute(
  "expired",
  (body) => check(expiredRequest, body),
  async (ctx, { now, cursor, limit }) => {
    const page: AccountPage = await ctx.runQuery(
      internal.billing.store.listExpired,
      { now, cursor, limit },
    );
    return reply(200, { accounts: page.accounts, cursor: page.cursor });
  },
);

export const poloSubscribers: PublicHttpAction = signedRoute(
  "polo-subscribers",
  (body) => check(pageRequest, body),
  async (ctx, { cursor, limit }) => {
    const page: { accountIds: string[]; cursor: string | null } =
      await ctx.runQuery(internal.billing.store.listPoloSubscribers, {
        cursor,
        limit,
      });
    return reply(200, { accountIds: page.accountIds, cursor: page.cursor });
  },
);

export const pendingPaypalCancellations: PublicHttpAction = signedRoute(
  "pending-paypal-cancellations",
  (body) => check(pageRequest, body),
  async (ctx, { cursor, limit }) => {
    const page: AccountPage = await ctx.runQuery(
      internal.billing.store.listPendingPaypalCancellations,
      { cursor, limit },
    );
    return reply(200, { accounts: page.accounts, cursor: page.cursor });
  },
);
