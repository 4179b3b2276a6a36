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

SECRET = "whsec_ZnV6ei10YXJnZXQtd2ViaG9vay1zZWNyZXQ="  # fuzz/src/checks.rs SECRET
NOW = 1_795_557_600  # fuzz/src/checks.rs NOW
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
