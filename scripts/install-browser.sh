#!/usr/bin/env bash
# Installs the browser the end-to-end browser test drives: Debian's
# Chromium and its ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver).
# Idempotent: does nothing when both are present. Fails loudly when they
# cannot be installed — the browser test never skips for want of a browser.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "browser ready ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium + chromium-driver are required for the browser test; install them (Debian: apt-get install chromium chromium-driver)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian's chromium + chromium-driver (first run only)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
/usr/bin/chromium --version
/usr/bin/chromedriver --version
