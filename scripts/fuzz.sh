#!/usr/bin/env bash
# One fuzz campaign: scripts/fuzz.sh TARGET SECONDS [RUNS]
# TARGET: verifier | parser | intake | dashboard | convex_answers |
# migration_rows (fuzz/fuzz_targets/); stops after SECONDS or RUNS
# executions, whichever comes first. Installs
# cargo-fuzz once into .tools/ (git-ignored) with the machine's nightly
# toolchain, grows fuzz/corpus/TARGET, and copies every crash into
# fuzz/regressions/TARGET, which shared/tests/fuzz_replay.rs replays on
# stable in the normal test command. Commit both folders after a campaign.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [RUNS]}
runs=${3:--1}
[ -f "fuzz/fuzz_targets/$target.rs" ] || { echo "no fuzz target $target (fuzz/fuzz_targets/)"; exit 2; }
if ! [ -x .tools/bin/cargo-fuzz ]; then
  cargo +nightly install --quiet --locked --root .tools cargo-fuzz
fi
export PATH="$(pwd)/.tools/bin:$PATH"
mkdir -p "fuzz/corpus/$target" "fuzz/regressions/$target"
[ -d "fuzz/seeds/$target" ] || python3 fuzz/seed.py
status=0
logs=target/fuzz-logs
mkdir -p "$logs"
(cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
  -max_total_time="$seconds" -runs="$runs" -max_len=65536 -timeout=10 -print_final_stats=1) \
  2>&1 | tee "$logs/$target.log" || status=$?
for crash in fuzz/artifacts/"$target"/*; do
  [ -f "$crash" ] || continue
  cp "$crash" "fuzz/regressions/$target/"
  echo "crash kept: fuzz/regressions/$target/$(basename "$crash")"
done
# Keep the corpus small enough to replay in seconds.
(cd fuzz && cargo +nightly fuzz cmin "$target" "corpus/$target" >/dev/null 2>&1) || true
echo "corpus: $(ls "fuzz/corpus/$target" | wc -l) inputs; regressions: $(ls "fuzz/regressions/$target" | wc -l)"
# Every line the campaign printed (panics and crash reports included),
# scanned for the test secret values like the test command's logs.
bash scripts/check-no-secrets.sh "$logs" || status=1
exit $status
