#!/usr/bin/env bash
# Fails if any test secret value (tests/fixtures/test-secrets.txt) appears
# in the captured logs (*.jsonl, *.log: the tests', a fuzz campaign's) or
# the runner's output. Also fails if nothing was
# captured: a scan of nothing would pass without proving anything.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/test-logs}
shopt -s nullglob
logs=("$dir"/*.jsonl "$dir"/*.log)
if [ ${#logs[@]} -eq 0 ]; then
  echo "no captured test logs in $dir: the secret scan has nothing to read"; exit 1
fi
lines=$(cat "${logs[@]}" | wc -l)
found=0
values=0
while IFS= read -r secret; do
  case "$secret" in ''|'#'*) continue ;; esac
  values=$((values + 1))
  if grep -rqF -- "$secret" "$dir"; then
    echo "SECRET LEAK: a test secret value appears in:"; grep -rlF -- "$secret" "$dir"; found=1
  fi
done < tests/fixtures/test-secrets.txt
[ $found -eq 0 ] || exit 1
echo "none of $values secret values in $lines captured log lines (${#logs[@]} files) or the runner's output"
