// Standard Webhooks verification of the Lambdas' requests (Rust:
// shared/src/signing.rs signs them). The secret is `whsec_<base64>`; the HMAC
// key is the base64-decoded part. The signed content binds the route too:
// `${webhook-id}.${webhook-timestamp}.${METHOD} ${path}.${raw body}`, so a
// signature made for one call is refused on another; `webhook-signature` holds
// one or more space-separated `v1,<base64 HMAC-SHA256>`. Web Crypto only, so
// it runs in Convex's default runtime.

/** How far a request's timestamp may be from now, either way. */
export const TOLERANCE_SECONDS = 300;

const MAX_WEBHOOK_ID_LENGTH = 256;
const SIGNATURE_BYTES = 32;
const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// Return types are inferred on purpose: TypeScript >= 5.7 types these as
// Uint8Array<ArrayBuffer>, which Web Crypto's BufferSource requires.
function decodeBase64(text: string) {
  if (!BASE64.test(text)) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let cached: { secrets: string; keys: CryptoKey[] } | null = null;

/**
 * The HMAC keys for the configured secrets: one `whsec_<base64>`, or several
 * separated by spaces or commas while a secret is rotated (the Lambdas sign
 * with one; every listed one is accepted, RUNBOOK §4). Null when absent, or
 * when any entry is malformed (a configuration fault, never the caller's).
 */
export async function signingKeys(
  secrets: string | undefined,
): Promise<CryptoKey[] | null> {
  if (secrets === undefined) return null;
  if (cached !== null && cached.secrets === secrets) return cached.keys;
  const entries = secrets.split(/[\s,]+/).filter((entry) => entry.length > 0);
  if (entries.length === 0) return null;
  const keys: CryptoKey[] = [];
  for (const entry of entries) {
    const raw = entry.startsWith("whsec_")
      ? decodeBase64(entry.slice(6))
      : null;
    if (raw === null || raw.length === 0) return null;
    keys.push(
      await crypto.subtle.importKey(
        "raw",
        raw,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      ),
    );
  }
  cached = { secrets, keys };
  return keys;
}

/** Equal-length byte arrays compared without an early exit. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

export type SignatureProblem =
  | "webhook-id: missing or malformed"
  | "webhook-timestamp: missing or malformed"
  | "webhook-timestamp: outside the tolerance"
  | "webhook-signature: missing or no v1 signature"
  | "webhook-signature: no signature matches";

/**
 * Checks a request's three headers against its raw body, with any of `keys`. Returns null when
 * the request is authentic and fresh, otherwise what is wrong (a kind, never
 * a value: safe to log).
 */
export async function verifySignature(
  keys: readonly CryptoKey[],
  headers: Headers,
  route: { method: string; path: string },
  body: Uint8Array,
  nowSeconds: number,
): Promise<SignatureProblem | null> {
  const id = headers.get("webhook-id");
  const timestamp = headers.get("webhook-timestamp");
  const signature = headers.get("webhook-signature");
  if (
    id === null ||
    id.length === 0 ||
    id.length > MAX_WEBHOOK_ID_LENGTH ||
    !/^[\x21-\x7e]+$/.test(id)
  ) {
    return "webhook-id: missing or malformed";
  }
  if (timestamp === null || !/^\d{1,12}$/.test(timestamp)) {
    return "webhook-timestamp: missing or malformed";
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) {
    return "webhook-timestamp: outside the tolerance";
  }
  const candidates = (signature ?? "")
    .split(" ")
    .filter((part) => part.startsWith("v1,"))
    .map((part) => decodeBase64(part.slice(3)))
    .filter(
      (bytes) => bytes !== null && bytes.length === SIGNATURE_BYTES,
    ) as Uint8Array[];
  if (candidates.length === 0) {
    return "webhook-signature: missing or no v1 signature";
  }
  const prefix = new TextEncoder().encode(
    `${id}.${timestamp}.${route.method} ${route.path}.`,
  );
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix, 0);
  signed.set(body, prefix.length);
  // Every key against every candidate, with no early exit on a match.
  let matched = false;
  for (const key of keys) {
    const expected = new Uint8Array(
      await crypto.subtle.sign("HMAC", key, signed),
    );
    for (const candidate of candidates) {
      matched = constantTimeEqual(candidate, expected) || matched;
    }
  }
  return matched ? null : "webhook-signature: no signature matches";
}
