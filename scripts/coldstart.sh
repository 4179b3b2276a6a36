#!/usr/bin/env bash
# Cold-start and warm-path figures of real function binaries beside the
# trivial lambda_http baseline, in one run (tools/src/bin/coldstart).
# usage: scripts/coldstart.sh [warm events, default 200]
#          webhook-subscription-updated in depth: CPU per event, the floors
#        scripts/coldstart.sh all [warm events, default 50] [cold starts, default 7]
#          all twelve functions: init, first answer, warm p50/p99, peak RSS
# The release binaries are copied to a private folder before they run, so a
# build sharing CARGO_TARGET_DIR cannot swap one mid-run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
mode=one
if [ "${1:-}" = all ]; then mode=all; shift; fi
if [ $mode = all ]; then
  functions="checkout portal status change-plan webhook-subscription-created webhook-subscription-updated
    webhook-subscription-canceled webhook-payment-failed webhook-payment-succeeded provisioning-sync
    reconcile webhook-retry"
  # Named one by one: `--bins` would build every tools binary too.
  # shellcheck disable=SC2046
  cargo build -q --release -p functions $(printf -- '--bin %s ' $functions) -p tools --bin trivial-lambda --bin floor-lambda --bin coldstart
  binaries="$functions trivial-lambda coldstart"
else
  cargo build -q --release -p functions --bin webhook-subscription-updated -p tools --bin trivial-lambda --bin floor-lambda --bin coldstart
  binaries="webhook-subscription-updated trivial-lambda floor-lambda coldstart"
fi
built="${CARGO_TARGET_DIR:-target}/release"
bin=$(mktemp -d)
for b in $binaries; do cp "$built/$b" "$bin/"; done
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$bin"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores; $(rustc --version); $(date -u +%FT%TZ)"
if [ $mode = all ]; then
  MOTO_ENDPOINT="http://127.0.0.1:$port" "$bin/coldstart" all "$bin" "${1:-50}" "${2:-7}"
else
  MOTO_ENDPOINT="http://127.0.0.1:$port" "$bin/coldstart" "$bin" "${1:-200}"
fi
