#!/usr/bin/env bash
# Runs every test that races writes against the DynamoDB emulator or the
# account store, N times in a row (default 20), with both cores kept busy by
# two spinning processes, and prints how many runs of each passed.
#
#   scripts/race-under-load.sh [N] [--unserialised]
#
# By default moto is served one request at a time (scripts/moto_serial.py),
# as the test command serves it; --unserialised runs plain `moto_server`
# instead, to show what that costs. Figures: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
emulator=serial
for arg in "$@"; do
  case "$arg" in
    --unserialised) emulator=plain ;;
    ''|*[!0-9]*) echo "usage: $0 [N] [--unserialised]"; exit 2 ;;
    *) runs=$arg ;;
  esac
done

bash scripts/bootstrap.sh >/dev/null
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export TEST_LOG_DIR=${TEST_LOG_DIR:-$(mktemp -d)}

# The race tests: concurrent claims on moto, two handlers interleaving on one
# account, whole lifecycles racing through the local stack and through ten
# binaries sharing moto. (The interleaving explorer is deterministic and
# single-threaded: load cannot change its verdict, so it is not repeated.)
filter='test(fifty_simultaneous_deliveries_of_one_event_yield_exactly_one_claim)
  | test(two_concurrent_events_for_one_account_both_land)
  | binary(concurrent_lifecycles) | binary(concurrent_webhooks)'

runner=(cargo test --workspace --no-fail-fast)
if command -v cargo-nextest >/dev/null 2>&1; then
  runner=(cargo nextest run --workspace --no-fail-fast -E "$filter")
  cargo nextest run --workspace --no-run >/dev/null 2>&1 || cargo nextest run --workspace --no-run
else
  echo "cargo-nextest not found: install it (cargo install cargo-nextest) to select the race tests"; exit 1
fi

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
if [ "$emulator" = serial ]; then
  .venv/bin/python scripts/moto_serial.py 127.0.0.1 "$port" >/dev/null 2>&1 &
else
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
fi
moto=$!
spinners=()
cleanup() {
  kill "$moto" 2>/dev/null || true
  for pid in "${spinners[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
export MOTO_ENDPOINT="http://127.0.0.1:$port"

# Both cores busy for the whole run (bounded: they die with this script).
for _ in 1 2; do
  ( end=$((SECONDS + 3600)); while [ $SECONDS -lt $end ]; do :; done ) &
  spinners+=($!)
done

declare -A passed failed
for run in $(seq 1 "$runs"); do
  out=$("${runner[@]}" 2>&1 || true)
  # nextest: "    PASS [   0.68s] (3/9) <binary> <test>"
  while read -r verdict binary test; do
    name="$binary::$test"
    case "$verdict" in
      PASS) passed[$name]=$(( ${passed[$name]:-0} + 1 )) ;;
      FAIL) failed[$name]=$(( ${failed[$name]:-0} + 1 )) ;;
    esac
  done < <(printf '%s\n' "$out" | sed -nE 's/^ +(PASS|FAIL) \[[^]]*\] +\([^)]*\) +([^ ]+) +([^ ]+).*$/\1 \2 \3/p' | sort -u)
  echo "run $run/$runs done ($emulator moto, both cores busy)"
done

echo
echo "emulator: $emulator moto; $runs runs with both cores busy"
for name in $(printf '%s\n' "${!passed[@]}" "${!failed[@]}" | sort -u); do
  printf '%3d/%d passed  %s\n' "${passed[$name]:-0}" "$runs" "$name"
done
