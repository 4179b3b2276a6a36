#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs from the project's sample events
(events/webhook-*.json): valid, signed and broken variants. The campaigns
(scripts/fuzz.sh) start from these and grow fuzz/corpus/; run from the repo root:

    python3 fuzz/seed.py
"""
import base64
import hashlib
import hmac
import json
import pathlib

SECRET = "whsec_ZnV6ei10YXJnZXQtd2ViaG9vay1zZWNyZXQ="  # fuzz/src/checks/mod.rs SECRET
NOW = 1_795_557_600  # fuzz/src/checks/mod.rs NOW
ENDPOINTS = [
    "subscription-created",
    "subscription-updated",
    "subscription-canceled",
    "payment-failed",
    "payment-succeeded",
]
root = pathlib.Path(__file__).resolve().parent


def sign(msg_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(SECRET[len("whsec_"):])
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def write(target: str, name: str, data: bytes) -> None:
    folder = root / "seeds" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


for endpoint_index, endpoint in enumerate(ENDPOINTS):
    event = json.loads((root.parent / "events" / f"webhook-{endpoint}.json").read_text())
    body = event["body"]
    body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    write("parser", f"{endpoint}", body)
    write("parser", f"{endpoint}-truncated", body[: len(body) // 2])
    write("parser", f"{endpoint}-no-data", json.dumps({"type": json.loads(body)["type"]}).encode())
    for flags, tag in [(0x20, "signed"), (0x30, "signed-base64"), (0x00, "unsigned")]:
        write("intake", f"{endpoint}-{tag}", bytes([endpoint_index | flags]) + body)
    write("intake", f"{endpoint}-misrouted", bytes([((endpoint_index + 1) % 5) | 0x20]) + body)
    msg_id = f"msg_seed_{endpoint_index}"
    good = f"{msg_id}\n{NOW}\n{sign(msg_id, NOW, body)}\n".encode() + body
    write("verifier", f"{endpoint}-valid", good)
    write("verifier", f"{endpoint}-old", f"{msg_id}\n{NOW - 301}\n{sign(msg_id, NOW - 301, body)}\n".encode() + body)
    write("verifier", f"{endpoint}-tampered", good + b" ")
write("verifier", "no-headers", b"")
write("verifier", "several-signatures", f"msg_x\n{NOW}\nv1,AAAA v2,BBBB v1,\n{{}}".encode())
write("parser", "empty", b"")
write("parser", "deep", b"[" * 200 + b"]" * 200)
write("intake", "signed-empty-body", bytes([0x20]))

# dashboard: byte 0 = route (0 checkout, 1 portal, 2 status, 3 change-plan)
# | claims (0x00 none, 0x04 the known account, 0x08 the input's own sub)
# | 0x10 base64; then `query \n body` (`sub \n query \n body` with 0x08).
KNOWN = 0x04
write("dashboard", "status", bytes([2 | KNOWN]) + b"\n")
write("dashboard", "status-no-claims", bytes([2]) + b"\n")
write("dashboard", "status-checkout-id", bytes([2 | KNOWN]) + b"checkout_id=chk_nope\n")
write("dashboard", "status-bad-checkout-id", bytes([2 | KNOWN]) + b"checkout_id=%00%ff\n")
write("dashboard", "checkout-pro", bytes([0 | KNOWN]) + b'\n{"planTier":"pro"}')
write("dashboard", "checkout-embedded", bytes([0 | KNOWN]) + b'\n{"planTier":"starter","mode":"embedded"}')
write("dashboard", "checkout-base64", bytes([0 | KNOWN | 0x10]) + b'\n{"planTier":"enterprise"}')
write("dashboard", "checkout-unknown-plan", bytes([0 | KNOWN]) + b'\n{"planTier":"gold"}')
write("dashboard", "checkout-extra-field", bytes([0 | KNOWN]) + b'\n{"planTier":"pro","price":1}')
write("dashboard", "checkout-not-json", bytes([0 | KNOWN]) + b"\nplanTier=pro")
write("dashboard", "checkout-other-sub", bytes([0 | 0x08]) + b'acct_someone_else\n\n{"planTier":"pro"}')
write("dashboard", "checkout-bad-sub", bytes([0 | 0x08]) + b'not an account id at all!!\n\n{"planTier":"pro"}')
write("dashboard", "portal-no-subscription", bytes([1 | KNOWN]) + b"\n")
write("dashboard", "change-plan-no-subscription", bytes([3 | KNOWN]) + b'\n{"planTier":"pro"}')
write("dashboard", "change-plan-empty", bytes([3 | KNOWN]) + b"\n")

# convex_answers: byte 0 = status index (low nibble: 200 201 204 400 401 403
# 404 409 422 429 500 503) | call (high nibble: 0 get, 1 a page of accounts,
# 2 a page of ids, 3 acknowledge, 4 any JSON); then the body.
STATUSES = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503]
CALLS = {"get": 0, "expired": 1, "mismatches": 1, "paypal-pending": 1, "subscribers": 2, "ack": 3, "cas": 4}
# Every answer of the Convex contract fixtures (tests/contract/convex/).
for fixture in sorted((root.parent / "tests" / "contract" / "convex").glob("*.json")):
    case = json.loads(fixture.read_text())
    status = case["response"]["status"]
    if status not in STATUSES:
        continue
    flags = STATUSES.index(status) | (CALLS[fixture.stem.rsplit("-", 1)[0] if fixture.stem.rsplit("-", 1)[0] in CALLS else fixture.stem.split("-")[0]] << 4)
    write("convex_answers", f"contract-{fixture.stem}", bytes([flags]) + json.dumps(case["response"]["body"]).encode())
write("convex_answers", "page-ok", bytes([0x10]) + b'{"accounts":[],"cursor":null}')
write("convex_answers", "ids-ok", bytes([0x20]) + b'{"accountIds":["acct_1"],"cursor":"c1"}')
write("convex_answers", "ack-ok", bytes([0x30]) + b'{"recorded":true}')
write("convex_answers", "ack-undecodable", bytes([0x30]) + b'{"recorded":"yes"}')
write("convex_answers", "not-found", bytes([0x06]) + b'{"error":"account_not_found"}')
write("convex_answers", "bare-404", bytes([0x06]) + b"Not Found")
write("convex_answers", "conflict", bytes([0x07]) + b'{"error":"version_conflict","currentVersion":9}')
write("convex_answers", "invalid-request", bytes([0x03]) + b'{"error":"invalid_request","detail":"accountId"}')
write("convex_answers", "signature-refused", bytes([0x04]) + b'{"error":"unauthorized"}')
write("convex_answers", "throttled", bytes([0x09]) + b"")
write("convex_answers", "unavailable", bytes([0x0b]) + b"<html>503</html>")

# migration_rows: byte 0 bit 0 = the input carries its own header; else the
# input is the rows after the expected header.
rows = (
    b"I-BW452GLLEP1G,acct_1,one@example.com,pro,ACTIVE,2026-12-20T00:00:00Z\n"
    b"I-AAAAAA2,acct_2,two@example.com,starter,CANCELLED,\n"
    b"I-ZZZZZZ3,acct_3,three@example.com,Enterprise,suspended,2026-12-01T00:00:00Z\n"
)
write("migration_rows", "valid", bytes([0]) + rows)
write("migration_rows", "bad-values", bytes([0]) + b"X-1,acct 1,nobody,gold,ACTIVE,yesterday\nI-BW452GLLEP1G,acct_1,one@example.com,pro,ACTIVE,\n")
write("migration_rows", "short-and-long", bytes([0]) + b"I-BW452GLLEP1G\nI-BW452GLLEP1G,a,b,c,d,e,f,g\n")
write("migration_rows", "quoted", bytes([0]) + b'"I-BW452GLLEP1G","acct_1","o,ne@example.com","pro","ACTIVE","2026-12-20T00:00:00Z"\n')
write("migration_rows", "own-header", bytes([1]) + b"id,account\nI-1,acct\n")
write("migration_rows", "not-utf8", bytes([0]) + b"I-BW452GLLEP1G,acct_1,\xff\xfe@example.com,pro,ACTIVE,2026-12-20T00:00:00Z\n")
