#!/usr/bin/env bash
# Cold-start and warm-path figures of a real function binary beside the
# trivial lambda_http baseline, in one run (tools/src/bin/coldstart.rs).
# usage: scripts/coldstart.sh [warm events, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
cargo build -q --release -p functions --bin webhook-subscription-updated -p tools --bin trivial-lambda --bin floor-lambda --bin coldstart
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores; $(rustc --version); $(date -u +%FT%TZ)"
MOTO_ENDPOINT="http://127.0.0.1:$port" target/release/coldstart target/release "${1:-200}"
