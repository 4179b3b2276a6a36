#!/usr/bin/env bash
# User-space instructions per warm event (callgrind), exact and repeatable
# where CPU time on this shared 2-core machine swings 2x between runs: the
# webhook function beside the trivial lambda_http baseline and the
# round-trip floor (tools/src/bin/floor-lambda.rs: the same claim, Convex
# read and completion and nothing else, over hyper, reqwest, and reqwest
# with DynamoDB through the AWS SDK). Each figure is (instructions of a run
# with 240 warm events - one with 40) / 200, so start-up cancels out.
# valgrind's CPU has no SHA extensions: SHA-256 (SigV4, HMACs) runs in
# software under it and weighs more than it does natively.
# usage: scripts/instructions.sh   (needs valgrind; about 5 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
bash scripts/bootstrap.sh >/dev/null
cargo build -q --release -p functions --bin webhook-subscription-updated -p tools --bin trivial-lambda --bin floor-lambda --bin coldstart
work=$(mktemp -d)
# A private copy: a build sharing CARGO_TARGET_DIR cannot swap a binary mid-run.
release="$work/bin"
mkdir -p "$release"
for b in webhook-subscription-updated trivial-lambda floor-lambda coldstart; do
  cp "${CARGO_TARGET_DIR:-target}/release/$b" "$release/"
done
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done

# The harness profiles the binary named webhook-subscription-updated in the
# directory it is given; each subject gets a directory where that name is it.
per_event() { # name binary env-assignment
  mkdir -p "$work/$1"
  ln -sf "$release/trivial-lambda" "$release/floor-lambda" "$work/$1/"
  ln -sf "$release/$2" "$work/$1/webhook-subscription-updated"
  local counts=()
  for n in 40 240; do
    MOTO_ENDPOINT="http://127.0.0.1:$port" \
      COLDSTART_WRAP="/usr/bin/env $3 $(command -v valgrind) -q --tool=callgrind --callgrind-out-file=$work/$1.$n.out" \
      "$release/coldstart" "$work/$1" "$n" 0 >/dev/null
    counts+=("$(sed -n 's/^summary: //p' "$work/$1.$n.out")")
  done
  echo $(((counts[1] - counts[0]) / 200))
}

echo "machine: $(nproc) cores; $(rustc --version); $(valgrind --version); $(date -u +%FT%TZ)"
trivial=$(per_event trivial trivial-lambda BASELINE=1)
hyper=$(per_event floor-hyper floor-lambda FLOOR_CLIENT=hyper)
reqwest=$(per_event floor-reqwest floor-lambda FLOOR_CLIENT=reqwest)
sdk=$(per_event floor-sdk floor-lambda FLOOR_DYNAMODB=sdk)
# The floor of our own round trips since the inbox (issue 16): the SDK
# sending the inbox's two requests, payload and all (floor-lambda.rs).
inbox=$(per_event floor-sdk-inbox floor-lambda FLOOR_DYNAMODB=sdk-inbox)
ours=$(per_event ours webhook-subscription-updated STAGE=local)
echo "| binary | instructions per warm event | vs floor (reqwest) | vs floor of our round trips (SDK, inbox records) |"
echo "|---|---|---|---|"
for row in "trivial lambda_http:$trivial" "floor, hyper:$hyper" "floor, reqwest:$reqwest" \
  "floor, reqwest + SDK for DynamoDB:$sdk" "floor, reqwest + SDK, the inbox's records:$inbox" \
  "webhook-subscription-updated:$ours"; do
  name=${row%%:*} count=${row##*:}
  awk -v n="$name" -v c="$count" -v f="$reqwest" -v g="$inbox" \
    'BEGIN { printf "| %s | %d | %.2fx | %.2fx |\n", n, c, c / f, c / g }'
done
