// Every HTTP path refuses what is not signed with CONVEX_SIGNING_SECRET within
// ±300 s: 401 {"error":"invalid_signature"}, no internal function runs,
// nothing is written, and neither the secret nor the signature is logged.

import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  dump,
  fixture,
  fixtures,
  newBackend,
  PATHS,
  recordDatabase,
  seed,
  seeded,
  send,
  signatureHeaders,
  SIGNING_SECRET,
  WRONG_SECRET,
  type Backend,
} from "./harness.test-utils";

const INVALID = { error: "invalid_signature" };

/** For each path, a request that would succeed (and write, for compare-and-set). */
const successful = PATHS.map((path) => {
  const name =
    fixtures.find(
      ([, f]) => f.request.path === path && f.response.status === 200,
    )?.[0] ?? "";
  return [path, name] as const;
});

let logs: string[];
beforeEach(() => {
  logs = [];
  for (const level of ["log", "info", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(" "));
    });
  }
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const now = () => Math.floor(Date.now() / 1000);

type Attempt = {
  name: string;
  send: (t: Backend, path: string, body: object) => ReturnType<typeof send>;
};

const badRequests: Attempt[] = [
  { name: "unsigned", send: (t, p, b) => send(t, p, b, { unsigned: true }) },
  {
    name: "signed with another secret",
    send: (t, p, b) => send(t, p, b, { secret: WRONG_SECRET }),
  },
  {
    // Well past the window, so a second ticking during the call cannot bring
    // it back in; the exact edges are tested with a frozen clock below.
    name: "stale (310 s old)",
    send: (t, p, b) => send(t, p, b, { timestamp: now() - 310 }),
  },
  {
    name: "from the future (310 s ahead)",
    send: (t, p, b) => send(t, p, b, { timestamp: now() + 310 }),
  },
  {
    name: "body changed after signing",
    send: async (t, p, b) => {
      const headers = await signatureHeaders(JSON.stringify(b), { path: p });
      return send(t, p, { ...b, tampered: true }, { unsigned: true, headers });
    },
  },
  {
    name: "signature for another webhook-id",
    send: async (t, p, b) => {
      const headers = await signatureHeaders(JSON.stringify(b), {
        path: p,
        id: "msg_a",
      });
      return send(t, p, b, {
        unsigned: true,
        headers: { ...headers, "webhook-id": "msg_b" },
      });
    },
  },
  {
    name: "signature for another timestamp",
    send: async (t, p, b) => {
      const headers = await signatureHeaders(JSON.stringify(b), {
        path: p,
        timestamp: now() - 1,
      });
      return send(t, p, b, {
        unsigned: true,
        headers: { ...headers, "webhook-timestamp": String(now()) },
      });
    },
  },
  {
    name: "no webhook-signature header",
    send: async (t, p, b) => {
      const { "webhook-signature": _, ...rest } = await signatureHeaders(
        JSON.stringify(b),
        { path: p },
      );
      void _;
      return send(t, p, b, { unsigned: true, headers: rest });
    },
  },
  {
    name: "a v2 signature only",
    send: async (t, p, b) => {
      const headers = await signatureHeaders(JSON.stringify(b), { path: p });
      const sig = headers["webhook-signature"].replace(/^v1,/, "v2,");
      return send(t, p, b, {
        unsigned: true,
        headers: { ...headers, "webhook-signature": sig },
      });
    },
  },
  {
    // A valid signature, for the same body, made for another route.
    name: "signed for another route",
    send: async (t, p, b) => {
      const other =
        p === "/billing/v1/accounts/get"
          ? "/billing/v1/accounts/compare-and-set"
          : "/billing/v1/accounts/get";
      const headers = await signatureHeaders(JSON.stringify(b), {
        path: other,
      });
      return send(t, p, b, { unsigned: true, headers });
    },
  },
  {
    name: "signed for another method",
    send: async (t, p, b) => {
      const headers = await signatureHeaders(JSON.stringify(b), {
        path: p,
        method: "GET",
      });
      return send(t, p, b, { unsigned: true, headers });
    },
  },
  {
    name: "a malformed timestamp",
    send: async (t, p, b) => {
      const ts = String(now());
      const headers = await signatureHeaders(JSON.stringify(b), {
        path: p,
        timestamp: Number(ts),
      });
      return send(t, p, b, {
        unsigned: true,
        headers: { ...headers, "webhook-timestamp": `+${ts}` },
      });
    },
  },
];

describe.each(successful)("%s", (path, name) => {
  test("the control: a signed request succeeds", async () => {
    const t = await seeded(name);
    const f = fixture(name);
    const recording = recordDatabase();
    const answer = await send(t, path, f.request.body);
    recording.stop();
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual(f.response.body);
    // The recording sees the database when a call reads it (so an empty
    // recording means no call did).
    expect(recording.ops).toContain("1.0/queryStream");
  });

  test.each(badRequests)(
    "refuses a request $name: 401, nothing runs",
    async (attempt) => {
      const t = await seeded(name);
      const f = fixture(name);
      const before = await dump(t);
      const recording = recordDatabase();
      const sent = await signatureHeaders(JSON.stringify(f.request.body), {
        path,
      });
      const answer = await attempt.send(t, path, f.request.body);
      recording.stop();

      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual(INVALID);
      // No query or mutation ran: not even a read reached the database.
      expect(recording.ops).toEqual([]);
      expect(await dump(t)).toStrictEqual(before);
      const logged = logs.join("\n");
      expect(logged).not.toContain(SIGNING_SECRET.slice(6, 20));
      expect(logged).not.toContain(sent["webhook-signature"].slice(3, 20));
    },
  );
});

describe("the time window", () => {
  test("300 s either way is accepted, 301 s is not", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-15T12:00:00Z"));
    const t = await seeded("get-found");
    const body = fixture("get-found").request.body;
    const at = Math.floor(Date.now() / 1000);
    for (const [offset, status] of [
      [-300, 200],
      [300, 200],
      [-301, 401],
      [301, 401],
    ] as const) {
      const answer = await send(t, "/billing/v1/accounts/get", body, {
        timestamp: at + offset,
      });
      expect({ offset, status: answer.status }).toEqual({ offset, status });
    }
  });
});

describe("the secret", () => {
  test("one matching signature among several is enough (Standard Webhooks rotation)", async () => {
    const t = await seeded("get-found");
    const body = JSON.stringify(fixture("get-found").request.body);
    const path = "/billing/v1/accounts/get";
    const good = await signatureHeaders(body, { path, id: "msg_rotation" });
    const other = await signatureHeaders(body, {
      path,
      id: "msg_rotation",
      secret: WRONG_SECRET,
    });
    const answer = await send(t, "/billing/v1/accounts/get", body, {
      unsigned: true,
      headers: {
        ...good,
        "webhook-signature": `${other["webhook-signature"]} ${good["webhook-signature"]}`,
      },
    });
    expect(answer.status).toBe(200);
  });

  test("the key is the base64 after whsec_, not the secret's text", async () => {
    const t = await seeded("get-found");
    const body = JSON.stringify(fixture("get-found").request.body);
    const id = "msg_legacy";
    const timestamp = String(now());
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(SIGNING_SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(
      await crypto.subtle.sign(
        "HMAC",
        key,
        new TextEncoder().encode(`${id}.${timestamp}.${body}`),
      ),
    );
    const answer = await send(t, "/billing/v1/accounts/get", body, {
      unsigned: true,
      headers: {
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": `v1,${btoa(String.fromCharCode(...mac))}`,
      },
    });
    expect(answer.status).toBe(401);
  });

  test("while a secret rotates, either listed secret is accepted and no other", async () => {
    const rotated = `whsec_${btoa("convex-signing-secret-after-rotation")}`;
    const t = await seeded("get-found");
    vi.stubEnv("CONVEX_SIGNING_SECRET", `${rotated} ${SIGNING_SECRET}`);
    const body = fixture("get-found").request.body;
    const path = "/billing/v1/accounts/get";
    const answers = [];
    for (const secret of [rotated, SIGNING_SECRET, WRONG_SECRET]) {
      answers.push((await send(t, path, body, { secret })).status);
    }
    expect(answers).toEqual([200, 200, 401]);
    vi.stubEnv("CONVEX_SIGNING_SECRET", `${SIGNING_SECRET},${rotated}`);
    expect((await send(t, path, body, { secret: rotated })).status).toBe(200);
    expect(logs.join("\n")).not.toContain(rotated);
  });

  test("a list with one malformed entry is a server fault, not a narrower list", async () => {
    const t = await seeded("get-found");
    vi.stubEnv("CONVEX_SIGNING_SECRET", `${SIGNING_SECRET} not-a-whsec-secret`);
    const answer = await send(
      t,
      "/billing/v1/accounts/get",
      fixture("get-found").request.body,
    );
    expect(answer.status).toBe(500);
    expect(answer.body).toStrictEqual({ error: "internal" });
  });

  test.each([
    ["not set", undefined],
    ["empty", ""],
    ["without the whsec_ prefix", "Y29udmV4LWNvbnRyYWN0"],
    ["not base64", "whsec_not base64!"],
  ])(
    "a signing secret %s is a server fault: 500, nothing runs",
    async (_label, value) => {
      const t = await seeded("cas-ok");
      vi.stubEnv("CONVEX_SIGNING_SECRET", value as string);
      const before = await dump(t);
      const recording = recordDatabase();
      const answer = await send(
        t,
        "/billing/v1/accounts/compare-and-set",
        fixture("cas-ok").request.body,
      );
      recording.stop();
      expect(answer.status).toBe(500);
      expect(answer.body).toStrictEqual({ error: "internal" });
      expect(recording.ops).toEqual([]);
      expect(await dump(t)).toStrictEqual(before);
      expect(logs.join("\n")).toContain(
        "CONVEX_SIGNING_SECRET is not set or not whsec_<base64>",
      );
    },
  );
});

describe("only the contract's routes exist", () => {
  test("GET on a billing path, and unknown paths, are not found", async () => {
    const t = await seeded("get-found");
    expect(
      (await t.fetch("/billing/v1/accounts/get", { method: "GET" })).status,
    ).toBe(404);
    const unknown = await send(t, "/billing/v1/accounts/delete", {
      accountId: "acct_active",
    });
    expect(unknown.status).toBe(404);
  });
});
