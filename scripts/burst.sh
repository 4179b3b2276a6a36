#!/usr/bin/env bash
# The burst (issue 18 part 3): 10,000 Polo deliveries for 1,000 accounts
# at once through K = 1, 4, 16 processes of each real webhook binary
# (tools/src/bin/burst, tools/src/burst), with the final consistency check;
# webhook-retry finishes any delivery answered 202 (left for the inbox).
# DynamoDB is moto served one request at a time (scripts/moto_serial.py),
# as the test command serves it: moto's threaded server can let two racing
# conditional writes both succeed, which would show up here as a doubled
# event that real DynamoDB never produces.
# usage: scripts/burst.sh [burst options, e.g. --k 1,4 --deliveries 2000 --accounts 200]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
target="${CARGO_TARGET_DIR:-target}"
functions=(webhook-subscription-created webhook-subscription-updated webhook-subscription-canceled webhook-payment-failed webhook-payment-succeeded webhook-retry)
cargo build -q --release -p tools --bin burst -p functions $(printf -- '--bin %s ' "${functions[@]}")
# A private copy: another build sharing the target directory may replace
# the uplifted binaries while the burst runs.
bin=$(mktemp -d)
for name in burst "${functions[@]}"; do cp "$target/release/$name" "$bin/"; done
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
.venv/bin/python scripts/moto_serial.py 127.0.0.1 "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$bin"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg); $(rustc --version); $(date -u +%FT%TZ)"
MOTO_ENDPOINT="http://127.0.0.1:$port" "$bin/burst" "$bin" --log-dir "$target/burst-logs" "$@"
