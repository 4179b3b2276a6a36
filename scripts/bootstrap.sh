#!/usr/bin/env bash
# Installs the test tools into project-local, git-ignored folders, once:
# .venv (moto server, the DynamoDB / Secrets Manager emulator; aws-sam-cli
# and cfn-lint, the template checks) and .venv-checkov (checkov, pinned with
# its dependencies in scripts/requirements-checkov.txt). Re-running is cheap: a stamp file
# records what was installed (a hash of scripts/requirements-test.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v curl >/dev/null 2>&1; then
  echo "curl is required (apt-get install -y curl)"; exit 1
fi
python=${PYTHON:-python3}
stamp=.venv/.installed-$(sha256sum scripts/requirements-test.txt | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  rm -f .venv/.installed-*
  touch "$stamp"
fi
checkov_stamp=.venv-checkov/.installed-$(sha256sum scripts/requirements-checkov.txt | cut -c1-16)
if [ ! -f "$checkov_stamp" ]; then
  [ -x .venv-checkov/bin/python ] || "$python" -m venv .venv-checkov
  .venv-checkov/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-checkov.txt
  rm -f .venv-checkov/.installed-*
  touch "$checkov_stamp"
fi
versions=$(.venv/bin/python -c 'from importlib.metadata import version as v; print(", ".join(f"{p} {v(p)}" for p in ("moto", "aws-sam-cli", "cfn-lint")))')
echo "test tools ready (.venv: $versions; .venv-checkov: checkov $(.venv-checkov/bin/checkov --version))"
