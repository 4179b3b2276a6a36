// The HTTP layer's request checks: each route's JSON body against the same
// Convex validators the schema and the internal functions use, plus the
// refinements the Rust types imply (RFC 3339 times, id newtypes, unsigned
// integers, a bounded page size). A problem is reported as
// `<field path>: <kind of problem>`; the sent value is never echoed.

import { v, type GenericValidator, type Infer } from "convex/values";
import {
  accountBilling,
  auditCause,
  count,
  expiredCursor,
  idString,
  instantNanos,
  MAX_PAGE,
  parseExpiredCursor,
  provisionedEntitlement,
  rfc3339,
} from "./model";

/** Page sizes: an integer from 1 to MAX_PAGE (Rust: `usize`). */
export const pageLimit = v.number();

const MAX_ID_LENGTH = 128;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const getRequest = v.object({ accountId: idString });
export const compareAndSetRequest = v.object({
  expectedVersion: count,
  account: accountBilling,
  audit: auditCause,
});
export const acknowledgeRequest = v.object({
  accountId: idString,
  acknowledged: provisionedEntitlement,
});
/** A list paged by accountId: the cursor is the last id of the previous page. */
export const pageRequest = v.object({
  cursor: v.union(idString, v.null()),
  limit: pageLimit,
});
export const expiredRequest = v.object({
  now: rfc3339,
  cursor: v.union(expiredCursor, v.null()),
  limit: pageLimit,
});

export type CompareAndSetRequest = Infer<typeof compareAndSetRequest>;

export type Checked<T> = { ok: true; value: T } | { ok: false; detail: string };

/** Checks a parsed JSON body against a request validator. */
export function check<V extends GenericValidator>(
  validator: V,
  body: unknown,
): Checked<Infer<V>> {
  const problem = problemAt(validator, body, "body");
  return problem === null
    ? { ok: true, value: body as Infer<V> }
    : { ok: false, detail: problem };
}

/** The compare-and-set body, including the version step rule. */
export function checkCompareAndSet(
  body: unknown,
): Checked<CompareAndSetRequest> {
  const checked = check(compareAndSetRequest, body);
  if (
    checked.ok &&
    checked.value.account.version !== checked.value.expectedVersion + 1
  ) {
    return {
      ok: false,
      detail: "account.version: must be expectedVersion + 1",
    };
  }
  return checked;
}

function describe(path: string, problem: string): string {
  return `${path}: ${problem}`;
}

function join(path: string, key: string): string {
  return path === "body" ? key : `${path}.${key}`;
}

function problemAt(
  validator: GenericValidator,
  value: unknown,
  path: string,
): string | null {
  switch (validator.kind) {
    case "string":
      if (typeof value !== "string") return describe(path, "must be a string");
      if (validator === rfc3339 && instantNanos(value) === null) {
        return describe(path, "must be an RFC 3339 time");
      }
      if (validator === expiredCursor && parseExpiredCursor(value) === null) {
        return describe(path, "must be a cursor from a previous page");
      }
      if (
        validator === idString &&
        (value.length > MAX_ID_LENGTH || !VISIBLE_ASCII.test(value))
      ) {
        return describe(path, "must be 1 to 128 visible ASCII characters");
      }
      return null;
    case "float64":
      if (typeof value !== "number" || !Number.isFinite(value)) {
        return describe(path, "must be a number");
      }
      if (validator === count && !(Number.isSafeInteger(value) && value >= 0)) {
        return describe(path, "must be a non-negative integer");
      }
      if (
        validator === pageLimit &&
        !(Number.isSafeInteger(value) && value >= 1 && value <= MAX_PAGE)
      ) {
        return describe(path, `must be an integer from 1 to ${MAX_PAGE}`);
      }
      return null;
    case "boolean":
      return typeof value === "boolean"
        ? null
        : describe(path, "must be a boolean");
    case "null":
      return value === null ? null : describe(path, "must be null");
    case "literal":
      return value === validator.value
        ? null
        : describe(path, `must be ${JSON.stringify(validator.value)}`);
    case "union": {
      const members = validator.members as GenericValidator[];
      if (value === null && members.some((m) => m.kind === "null")) return null;
      const literals = members.filter((m) => m.kind === "literal");
      if (literals.length === members.length) {
        if (literals.some((m) => m.kind === "literal" && m.value === value))
          return null;
        const allowed = literals.map((m) =>
          m.kind === "literal" ? String(m.value) : "",
        );
        return describe(path, `must be one of ${allowed.join(", ")}`);
      }
      // `X | null`: report X's problem (a null would have matched above).
      const others = members.filter((m) => m.kind !== "null");
      let first: string | null = null;
      for (const member of others) {
        const problem = problemAt(member, value, path);
        if (problem === null) return null;
        first ??= problem;
      }
      const nullable = others.length < members.length;
      return nullable && first !== null ? `${first} or null` : first;
    }
    case "array": {
      if (!Array.isArray(value)) return describe(path, "must be an array");
      for (let i = 0; i < value.length; i++) {
        const problem = problemAt(validator.element, value[i], `${path}[${i}]`);
        if (problem !== null) return problem;
      }
      return null;
    }
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return describe(path, "must be an object");
      }
      const record = value as Record<string, unknown>;
      const fields = validator.fields as Record<string, GenericValidator>;
      for (const [key, field] of Object.entries(fields)) {
        if (!(key in record) || record[key] === undefined) {
          if (field.isOptional === "optional") continue;
          return describe(join(path, key), "missing");
        }
        const problem = problemAt(field, record[key], join(path, key));
        if (problem !== null) return problem;
      }
      for (const key of Object.keys(record)) {
        if (key in fields) continue;
        // A field name is structure, not a value: name it when it looks like one.
        return FIELD_NAME.test(key)
          ? describe(join(path, key), "unknown field")
          : describe(path, "has an unknown field");
      }
      return null;
    }
    default:
      // Not used by any request validator; refuse rather than pass unchecked.
      return describe(path, "cannot be checked");
  }
}
