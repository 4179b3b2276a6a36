#!/usr/bin/env bash
# Measures the release profile's LTO modes on this machine: for each mode, a
# full release build of one webhook binary, then a rebuild after touching its
# main (dominated by the LTO link: "relink"), the stripped binary size and
# its zipped size (as Lambda receives it, named bootstrap).
# usage: scripts/measure-lto.sh [modes...]   (default: fat thin)
# Results: docs/release-profile.md. Each mode builds in target/lto-<mode>.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=webhook-subscription-created
modes=("${@:-fat thin}")
[ $# -gt 0 ] || modes=(fat thin)
now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(rustc --version); $(date -u +%FT%TZ)"
echo "| lto | full build s | relink s | binary bytes | zip bytes |"
echo "|---|---|---|---|---|"
for mode in "${modes[@]}"; do
  export CARGO_TARGET_DIR="target/lto-$mode"
  export CARGO_PROFILE_RELEASE_LTO="$mode" CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
         CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_STRIP=true \
         CARGO_PROFILE_RELEASE_DEBUG=false
  t0=$(now); cargo build -q --release -p functions --bin "$bin"; t1=$(now)
  touch "functions/src/bin/$bin.rs"
  t2=$(now); cargo build -q --release -p functions --bin "$bin"; t3=$(now)
  out="$CARGO_TARGET_DIR/release/$bin"
  size=$(stat -c %s "$out")
  zipped=$(python3 - "$out" <<'PY'
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))
PY
)
  python3 -c "print(f'| $mode | {$t1 - $t0:.0f} | {$t3 - $t2:.1f} | $size | $zipped |')"
done
