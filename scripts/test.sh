#!/usr/bin/env bash
# Runs every test of the project, on a fresh machine too:
#   1. installs what the tests need into project-local, git-ignored folders
#      (.venv: moto server, aws-sam-cli, cfn-lint; .venv-checkov), reusing
#      them when present;
#   2. lints template.yaml (cfn-lint, sam validate --lint, checkov), checks
#      formatting and clippy (-D warnings);
#   3. starts the DynamoDB / Secrets Manager emulator on a free loopback port,
#      serving one request at a time (scripts/moto_serial.py: real DynamoDB
#      applies each conditional write atomically, moto's model takes no lock);
#   4. builds the two release binaries the bad-input corpus runs through,
#      then runs every test (debug build, one shared target/), then the
#      Convex suite (scripts/test-convex.sh: node_modules/ installed once,
#      reused);
#   5. scans every log line the tests captured for test secret values;
#   6. stops the emulator, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "test tools (project-local)"
bash scripts/bootstrap.sh

step "browser for the browser test (Debian chromium + chromium-driver, once)"
bash scripts/install-browser.sh

step "template.yaml: cfn-lint and sam validate --lint (offline)"
SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 .venv/bin/cfn-lint template.yaml
SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 .venv/bin/sam validate --lint --template template.yaml

step "template.yaml: checkov (pinned), as written and as expanded"
bash scripts/checkov.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "emulator (moto server, one request at a time)"
moto_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p target/test-logs
rm -f target/test-logs/*.jsonl
.venv/bin/python scripts/moto_serial.py 127.0.0.1 "$moto_port" >target/test-logs/moto.log 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1; then break; fi
  if ! kill -0 $moto_pid 2>/dev/null; then echo "moto server failed to start:"; cat target/test-logs/moto.log; exit 1; fi
  sleep 0.1
done
curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null || { echo "moto server not answering"; exit 1; }
echo "moto server on 127.0.0.1:$moto_port"

export MOTO_ENDPOINT="http://127.0.0.1:$moto_port"
export TEST_LOG_DIR="$root/target/test-logs"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE || true

step "release builds the bad-input corpus runs (functions/tests/bad_input_corpus.rs)"
cargo build --release --quiet -p functions --bin webhook-subscription-updated --bin webhook-payment-succeeded

step "cargo test (workspace)"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast 2>&1 | tee target/test-logs/runner.out
else
  cargo test --workspace --no-fail-fast 2>&1 | tee target/test-logs/runner.out
fi

step "Convex suite (convex/: convex-test + vitest, the same contract fixtures)"
bash scripts/test-convex.sh 2>&1 | tee target/test-logs/convex.out

step "secret scan of every captured log line and the runner's output"
bash scripts/check-no-secrets.sh target/test-logs

echo
echo "all tests passed"
