#!/usr/bin/env bash
# The Convex suite (convex/): typecheck, then every test (convex-test +
# vitest), on a fresh clone too. Needs node >= 20.19 and npm; installs the
# pinned devDependencies (package-lock.json) into the git-ignored
# node_modules/ only when they are missing or the lockfile changed, so reruns
# are offline and fast. Ends with a plain "convex: N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

command -v node >/dev/null || { echo "node is required (>= 20.19)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
if ! node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 20 || (maj === 20 && min >= 19) ? 0 : 1);
'; then
  echo "node $(node --version) is too old: the suite needs node >= 20.19" >&2
  exit 1
fi

stamp=node_modules/.test-convex-installed
if [[ ! -f $stamp || package-lock.json -nt $stamp || package.json -nt $stamp ]]; then
  step "npm ci (package-lock.json)"
  npm ci --no-audit --no-fund
  touch "$stamp"
else
  step "node_modules up to date with package-lock.json (no install)"
fi

step "typecheck: tsc --noEmit -p convex"
node_modules/.bin/tsc --noEmit -p convex

step "tests: vitest run"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
node_modules/.bin/vitest run --reporter=default --reporter=json \
  --outputFile.json="$report" || status=$?
if [[ -s $report ]]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`convex: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  ' "$report"
fi
exit "$status"
