#!/usr/bin/env bash
# Release build of the SAM stack for one environment, refused up front when
# its configuration is incomplete.
#
#   ./build.sh <dev|staging|prod> <ENV_FILE> [--check] [--cargo-lambda] [--deploy]
#
#   1. tools: the release venv .tools/sam-venv (scripts/requirements-build.txt:
#      aws-sam-cli, cargo-lambda, ziglang), created once and put first on
#      PATH; the aarch64-unknown-linux-gnu Rust target (rustup). Each missing
#      tool is named.
#   2. preflight (tools/src/preflight/): ENV_FILE + samconfig.toml [env]
#      + template.yaml; every missing or malformed variable or parameter is
#      named and the build stops before compiling anything. When ready, it
#      writes .aws-sam/parameters-<env>.yaml for sam deploy.
#   3. build: `sam build` (every function, arm64, release, one shared
#      target/), or with --cargo-lambda `cargo lambda build --release --arm64`
#      (binaries in target/lambda/<function>/bootstrap, no SAM artifacts).
#   4. deploy, only with --deploy: `sam deploy --config-env <env>` with those
#      parameters. Without it, the command is printed.
#
# --check stops after the preflight. Secrets are never in ENV_FILE: their
# values live in Secrets Manager (docs/INSTRUCTIONS.md).
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

usage() { echo "usage: ./build.sh <dev|staging|prod> <ENV_FILE> [--check] [--cargo-lambda] [--deploy]"; exit 2; }
[ $# -ge 2 ] || usage
env_name=$1 env_file=$2
shift 2
check_only=false use_sam=true deploy=false
for arg in "$@"; do
  case $arg in
    --check) check_only=true ;;
    --cargo-lambda) use_sam=false ;;
    --deploy) deploy=true ;;
    *) echo "unknown option $arg"; usage ;;
  esac
done
case $env_name in dev|staging|prod) ;; *) echo "environment must be dev, staging or prod (got $env_name)"; exit 2 ;; esac
[ -f "$env_file" ] || { echo "environment file $env_file not found"; exit 2; }
if $deploy && ! $use_sam; then echo "--deploy needs the SAM build (drop --cargo-lambda)"; exit 2; fi

export SAM_CLI_TELEMETRY=0
step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "preflight: $env_file for $env_name"
overrides="$root/.aws-sam/parameters-$env_name.yaml"
rm -f "$overrides"
cargo run -q -p tools --bin preflight -- \
  --config-env "$env_name" --template template.yaml --samconfig samconfig.toml \
  --write-overrides "$overrides" "$env_file"
$check_only && exit 0

step "release tools (.tools/sam-venv, aarch64 target)"
venv=.tools/sam-venv
stamp=$venv/.installed-$(sha256sum scripts/requirements-build.txt | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x $venv/bin/python ] || "${PYTHON:-python3}" -m venv $venv
  $venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-build.txt
  rm -f $venv/.installed-*
  touch "$stamp"
fi
export PATH="$root/$venv/bin:$PATH"
missing=()
for tool in sam cargo-lambda python-zig; do
  case $tool in
    python-zig) $venv/bin/python -c 'import ziglang' 2>/dev/null || missing+=("ziglang (PyPI, in $venv)") ;;
    *) command -v "$tool" >/dev/null 2>&1 || missing+=("$tool") ;;
  esac
done
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu || missing+=("Rust target aarch64-unknown-linux-gnu (rustup target add aarch64-unknown-linux-gnu)")
  fi
else
  missing+=("rustup (to add the aarch64-unknown-linux-gnu target)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "refused: missing release tools:"; printf '  - %s\n' "${missing[@]}"; exit 1
fi
echo "sam $(sam --version | awk '{print $NF}'), $(cargo lambda --version)"

if $use_sam; then
  step "sam build (arm64, release; one shared target/)"
  build_started=$(date +%s)
  sam build </dev/null
  echo "sam build: $(( $(date +%s) - build_started )) s"
else
  step "cargo lambda build --release --arm64 (functions)"
  build_started=$(date +%s)
  cargo lambda build --release --arm64 -p functions </dev/null
  echo "cargo lambda build: $(( $(date +%s) - build_started )) s; binaries in target/lambda/<function>/bootstrap"
fi

deploy_cmd=(sam deploy --config-env "$env_name" --parameter-overrides "file://$overrides")
if $deploy; then
  step "${deploy_cmd[*]}"
  "${deploy_cmd[@]}"
elif $use_sam; then
  step "ready to deploy"
  echo "${deploy_cmd[*]}"
fi
echo "done in $(( $(date +%s) - started )) s"
