// Shared test harness for the Convex suite. (The double extension keeps this
// file out of a Convex deploy: the bundler skips names with two dots.)

import { convexTest } from "convex-test";
import { afterEach, beforeEach, vi } from "vitest";
import schema from "../schema";
import {
  storedBillingFields,
  type AccountBilling,
  type AuditEntry,
} from "../billing/model";

/** The functions under test, as convex-test wants them (keys relative to convex/). */
export const modules = import.meta.glob("../**/*.*s");

/** The same test secret the Rust replay test uses (shared/tests/convex_contract.rs). */
export const SIGNING_SECRET =
  "whsec_Y29udmV4LWNvbnRyYWN0LXRlc3Qtc2lnbmluZy1zZWNyZXQ=";
export const WRONG_SECRET =
  "whsec_d3Jvbmctc2lnbmluZy1zZWNyZXQtZm9yLWNvbnZleA==";

/** A stored audit row: the entry and its account. */
export type AuditRow = AuditEntry & { accountId: string };

export type Fixture = {
  call: string;
  outcome: string;
  description?: string;
  seed: { accounts: AccountBilling[]; auditRows?: AuditRow[] };
  request: { method: string; path: string; body: Record<string, unknown> };
  response: { status: number; body: unknown };
  expect?: { accounts?: AccountBilling[]; auditRows?: AuditRow[] };
  simulate?: "internal_error";
};

const fixtureFiles = import.meta.glob<Fixture>(
  "../../tests/contract/convex/*.json",
  { eager: true, import: "default" },
);

/** Every contract fixture, by file name (without `.json`), sorted. */
export const fixtures: [string, Fixture][] = Object.entries(fixtureFiles)
  .map(([path, fixture]): [string, Fixture] => [
    path.replace(/^.*\//, "").replace(/\.json$/, ""),
    fixture,
  ])
  .sort(([a], [b]) => (a < b ? -1 : 1));

export function fixture(name: string): Fixture {
  const found = fixtures.find(([n]) => n === name);
  if (!found) throw new Error(`no fixture ${name}`);
  // A deep copy: tests may change it.
  return structuredClone(found[1]);
}

/** A compare-and-set fixture's request body (a deep copy: tests may change it). */
export function casBody(name = "cas-ok") {
  return fixture(name).request.body as {
    expectedVersion: number;
    account: AccountBilling;
    audit: Record<string, unknown>;
  };
}

/** Every path of the contract (one per call). */
export const PATHS = [
  ...new Set(fixtures.map(([, f]) => f.request.path)),
].sort();

/** The contract's paths, by call. */
export const P = {
  get: "/billing/v1/accounts/get",
  cas: "/billing/v1/accounts/compare-and-set",
  ack: "/billing/v1/accounts/acknowledge-provisioning",
  mismatches: "/billing/v1/accounts/provisioning-mismatches",
  expired: "/billing/v1/accounts/expired",
  subscribers: "/billing/v1/accounts/polo-subscribers",
  paypal: "/billing/v1/accounts/pending-paypal-cancellations",
};

export function newBackend() {
  vi.stubEnv("CONVEX_SIGNING_SECRET", SIGNING_SECRET);
  return convexTest(schema, modules);
}
export type Backend = ReturnType<typeof newBackend>;

/** Seeds accounts as the app stores them (billing fields + index keys) and audit rows. */
export async function seed(
  t: Backend,
  accounts: AccountBilling[],
  auditRows: AuditRow[] = [],
): Promise<void> {
  await t.run(async (ctx) => {
    for (const account of accounts) {
      await ctx.db.insert("accounts", storedBillingFields(account));
    }
    for (const row of auditRows) await ctx.db.insert("billingEvents", row);
  });
}

/** A fresh backend holding the named fixture's seed. */
export async function seeded(name: string): Promise<Backend> {
  const t = newBackend();
  const f = fixture(name);
  await seed(t, f.seed.accounts, f.seed.auditRows ?? []);
  return t;
}

function strip<T extends Record<string, unknown>>(doc: T) {
  const { _id, _creationTime, ...rest } = doc;
  void _id;
  void _creationTime;
  return rest;
}

/** The stored state: accounts (system fields stripped, by accountId) and audit rows (in order). */
export async function dump(t: Backend) {
  return await t.run(async (ctx) => {
    const accounts = (await ctx.db.query("accounts").collect())
      .map(strip)
      .sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
    const auditRows = (await ctx.db.query("billingEvents").collect()).map(
      strip,
    );
    return { accounts, auditRows };
  });
}

/** An account's billing fields without the derived index keys. */
export function billingOnly(stored: Record<string, unknown>) {
  const { billingIndex, ...rest } = stored;
  void billingIndex;
  return rest;
}

export type SignOptions = {
  /** The route signed with the body (send() fills in its own path). */
  path?: string;
  method?: string;
  secret?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  id?: string;
};

/**
 * Standard Webhooks headers for `body`, computed here independently of the
 * code under test (as shared/src/signing.rs does: HMAC-SHA256 keyed with the
 * base64 after `whsec_`, over `${id}.${timestamp}.${METHOD} ${path}.${body}`).
 */
export async function signatureHeaders(
  body: string,
  options: SignOptions = {},
) {
  const secret = options.secret ?? SIGNING_SECRET;
  const id = options.id ?? `msg_${crypto.randomUUID().replace(/-/g, "")}`;
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const keyBytes = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) =>
    c.charCodeAt(0),
  );
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      key,
      new TextEncoder().encode(
        `${id}.${timestamp}.${options.method ?? "POST"} ${options.path ?? ""}.${body}`,
      ),
    ),
  );
  const signature = btoa(String.fromCharCode(...mac));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${signature}`,
  };
}

/** POSTs `body` (an object, or raw text) to `path`, signed unless told otherwise. */
export async function send(
  t: Backend,
  path: string,
  body: unknown,
  options: SignOptions & {
    headers?: Record<string, string>;
    unsigned?: boolean;
  } = {},
) {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...(options.unsigned
      ? {}
      : await signatureHeaders(raw, { path, ...options })),
    ...options.headers,
  };
  const response = await t.fetch(path, { method: "POST", headers, body: raw });
  const text = await response.text();
  // The parsed answer, loosely typed: tests assert its exact shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, body: json, headers: response.headers };
}

// ---------------------------------------------------------------------------
// Observing and breaking the store. convex-test runs the real `convex/server`
// runtime, which reaches the database only through the global
// `Convex.syscall` / `Convex.asyncSyscall` hooks convex-test installs. Wrapping
// them lets a test see which index ranges a function reads, and make the
// database itself fail, with no test-only code in the functions under test.

type Syscall = (op: string, args: string) => string;
type AsyncSyscall = (op: string, args: string) => Promise<string>;
type ConvexGlobal = { syscall: Syscall; asyncSyscall: AsyncSyscall };

function convexGlobal(): ConvexGlobal {
  const global = (globalThis as unknown as { Convex?: ConvexGlobal }).Convex;
  if (!global)
    throw new Error("convexTest() has not installed the Convex global yet");
  return global;
}

function wrapSyscalls(
  wrapSync: (real: Syscall) => Syscall,
  wrapAsync: (real: AsyncSyscall) => AsyncSyscall,
): () => void {
  const global = convexGlobal() as unknown as Record<string, unknown>;
  const syncGetter = Object.getOwnPropertyDescriptor(global, "syscall")!.get!;
  const asyncGetter = Object.getOwnPropertyDescriptor(
    global,
    "asyncSyscall",
  )!.get!;
  const sync = vi
    .spyOn(global, "syscall", "get")
    .mockImplementation(() => wrapSync(syncGetter.call(global) as Syscall));
  const async_ = vi
    .spyOn(global, "asyncSyscall", "get")
    .mockImplementation(() =>
      wrapAsync(asyncGetter.call(global) as AsyncSyscall),
    );
  return () => {
    sync.mockRestore();
    async_.mockRestore();
  };
}

/** Every database syscall: reads and writes. */
export const DATABASE_OPS = [
  "1.0/get",
  "1.0/queryStream",
  "1.0/queryStreamNext",
  "1.0/queryPage",
  "1.0/insert",
  "1.0/shallowMerge",
  "1.0/replace",
  "1.0/remove",
];

/**
 * Makes the database fail on `ops` (default: every database operation) until
 * the returned function is called, as a Convex outage would. Every syscall
 * made meanwhile, failed or not, is appended to `seen`.
 */
export function failDatabase(
  ops: string[] = DATABASE_OPS,
  seen: string[] = [],
): () => void {
  const fail = (op: string) => {
    throw new Error(`simulated database failure on ${op}`);
  };
  return wrapSyscalls(
    (real) => (op, args) => {
      seen.push(op);
      return ops.includes(op) ? fail(op) : real(op, args);
    },
    (real) => async (op, args) => {
      seen.push(op);
      return ops.includes(op) ? fail(op) : real(op, args);
    },
  );
}

export type QueryRecord = {
  source: {
    type: string;
    indexName?: string;
    range?: unknown[];
    tableName?: string;
  };
  operators: Record<string, unknown>[];
};

/** Records what the functions run while it is active. */
export function recordDatabase() {
  const queries: QueryRecord[] = [];
  const ops: string[] = [];
  let documentsRead = 0;
  const stop = wrapSyscalls(
    (real) => (op, args) => {
      ops.push(op);
      if (op === "1.0/queryStream") queries.push(JSON.parse(args).query);
      return real(op, args);
    },
    (real) => async (op, args) => {
      ops.push(op);
      const result = await real(op, args);
      if (op === "1.0/queryStreamNext" && !JSON.parse(result).done)
        documentsRead++;
      if (op === "1.0/get" && JSON.parse(result) !== null) documentsRead++;
      return result;
    },
  );
  return {
    queries,
    ops,
    documentsRead: () => documentsRead,
    stop,
  };
}

/** An account built from the fixtures' free account, with changes. */
export function account(
  accountId: string,
  changes: Partial<AccountBilling> = {},
): AccountBilling {
  return {
    ...structuredClone(FREE),
    accountId,
    ...structuredClone(changes),
  };
}

const FREE: AccountBilling = {
  accountId: "acct_free",
  provider: "polo",
  planTier: "free",
  billingStatus: "none",
  premiumExpiresAt: null,
  renewsAt: null,
  cancelAtPeriodEnd: false,
  trialEndsAt: null,
  poloCustomerId: null,
  subscriptions: [],
  currentSubscriptionId: null,
  desiredEntitlement: { entitled: false, tier: "free", expiresAt: null },
  entitlementChangedAt: null,
  provisionedEntitlement: null,
  provisioningIntent: null,
  version: 0,
  paypal: null,
  pendingPaypalCancellation: null,
};

/**
 * For every test of the calling file: the handlers' expected error and
 * warning logs are silenced (a refused request logs by design), and mocks
 * and stubbed env vars are restored afterwards.
 */
export function quietConsole(): void {
  beforeEach(() => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
}
