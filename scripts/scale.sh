#!/usr/bin/env bash
# The scale harness (issue 18; docs/BENCHMARKS.md "Scale: jobs × accounts"):
# provisioning-sync, admin reconcile --all, webhook-retry and admin
# migrate-paypal over N accounts each, their release binaries run as
# production runs them (tools/src/bin/scale.rs).
# usage: scripts/scale.sh [N...]            default: 1000 10000 100000
#        SCALE_ARGS="--jobs provisioning-sync --polo-rps 100" scripts/scale.sh 1000
set -euo pipefail
[ $# -gt 0 ] || set -- 1000 10000 100000
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
target="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p functions --bin provisioning-sync --bin webhook-retry -p admin --bin admin -p tools --bin scale
# Private copies: a shared target dir's binaries may be rebuilt meanwhile.
bin=$(mktemp -d /tmp/scale-bin.XXXXXX)
cp "$target/release/provisioning-sync" "$target/release/webhook-retry" "$target/release/admin" "$target/release/scale" "$bin/"
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
# The threaded moto: the sweep claims one record at a time, and seeding
# writes 16 at once to distinct keys.
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$bin"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores, shared with other builds; $(rustc --version); $(date -u +%FT%TZ)"
# shellcheck disable=SC2086
MOTO_ENDPOINT="http://127.0.0.1:$port" "$bin/scale" "$bin" ${SCALE_ARGS:-} "$@"
