#!/usr/bin/env python3
"""Re-signs every events/webhook-*.json in place with a fresh timestamp.

The signature is Standard Webhooks v1 over "{webhook-id}.{webhook-timestamp}.{raw body}",
where the raw body is the base64-DECODED body when isBase64Encoded is true.
Key: the secret without "whsec_", base64-decoded.

usage: scripts/sign-events.py [--secret whsec_...] [--timestamp N] [--self-test]
The secret defaults to $POLO_WEBHOOK_SECRET, else the documented local test
secret (.env.example), which is valid nowhere but the local stack.
"""
import argparse, base64, glob, hashlib, hmac, json, os, secrets, sys, time
from datetime import datetime, timezone

LOCAL_SECRET = "whsec_bG9jYWwtdGVzdC1zZWNyZXQtZG8tbm90LXVzZS1pbi1wcm9k"


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def self_test() -> bool:
    got = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    return got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secret", default=os.environ.get("POLO_WEBHOOK_SECRET", LOCAL_SECRET))
    parser.add_argument("--timestamp", type=int, default=int(time.time()))
    parser.add_argument("--self-test", action="store_true", help="check the official known-answer vector and exit")
    args = parser.parse_args()
    if not self_test():
        print("self-test FAILED: the signing code does not reproduce the Standard Webhooks vector", file=sys.stderr)
        return 1
    if args.self_test:
        print("self-test ok")
        return 0
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events")
    for path in sorted(glob.glob(os.path.join(root, "webhook-*.json"))):
        with open(path) as f:
            event = json.load(f)
        body = event["body"].encode()
        if event.get("isBase64Encoded"):
            body = base64.b64decode(event["body"])
        headers = event["headers"]
        msg_id = headers.get("webhook-id") or "msg_" + secrets.token_hex(12)
        headers["webhook-id"] = msg_id
        headers["webhook-timestamp"] = str(args.timestamp)
        headers["webhook-signature"] = sign(args.secret, msg_id, args.timestamp, body)
        when = datetime.fromtimestamp(args.timestamp, tz=timezone.utc)
        event["requestContext"]["time"] = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
        event["requestContext"]["timeEpoch"] = args.timestamp * 1000
        with open(path, "w") as f:
            json.dump(event, f, indent=2)
            f.write("\n")
        print(f"signed {os.path.relpath(path)} ({msg_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
