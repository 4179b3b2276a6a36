#!/usr/bin/env bash
# Lambda gives a function CPU in proportion to its memory (1,769 MB = one
# vCPU). This runs the cold-start harness (tools/src/bin/coldstart) with the
# function processes held to the CPU share of each memory size by a cgroup
# (v1 cpu controller: cfs_quota_us / cfs_period_us), so init, first answer,
# warm latency and CPU can be compared across sizes, each against the
# trivial lambda_http binary at the same share. Needs root and a writable
# /sys/fs/cgroup/cpu (the project's machine has both).
#
# usage: scripts/memory-sizing.sh [sizes in MB, default "128 256 512 1024"]
# Figures and the decision: docs/BENCHMARKS.md "Memory size".
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"128 256 512 1024"}
cgroot=/sys/fs/cgroup/cpu
[ -w "$cgroot" ] || { echo "needs a writable $cgroot (cgroup v1 cpu controller, as root)"; exit 1; }
bash scripts/bootstrap.sh >/dev/null
cargo build -q --release -p functions --bin webhook-subscription-updated -p tools --bin trivial-lambda --bin floor-lambda --bin coldstart
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
cleanup() {
  kill $moto 2>/dev/null || true
  for mb in $sizes; do rmdir "$cgroot/lambda-$mb" 2>/dev/null || true; done
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores; $(rustc --version); $(date -u +%FT%TZ)"
for mb in $sizes; do
  group="$cgroot/lambda-$mb"
  mkdir -p "$group"
  period=100000
  quota=$(( mb * period / 1769 ))
  echo "$period" > "$group/cpu.cfs_period_us"
  echo "$quota" > "$group/cpu.cfs_quota_us"
  # Each binary the harness spawns joins the group, then becomes the binary
  # (exec keeps the pid, so the harness still measures that process).
  dir="target/memory-sizing/$mb"
  mkdir -p "$dir"
  for bin in trivial-lambda webhook-subscription-updated floor-lambda; do
    printf '#!/bin/sh\necho $$ > %s/cgroup.procs\nexec %s/target/release/%s "$@"\n' \
      "$group" "$(pwd)" "$bin" > "$dir/$bin"
    chmod +x "$dir/$bin"
  done
  echo
  echo "## $mb MB: CPU share $(( quota * 100 / period ))% of one core (quota $quota us per $period us)"
  MOTO_ENDPOINT="http://127.0.0.1:$port" target/release/coldstart "$dir" "${WARM_EVENTS:-100}" "${COLD_RUNS:-9}" \
    | sed -n '1,/^$/p'
done
