#!/usr/bin/env bash
# Installs the pinned Python packages that the ONNX tests use as oracles
# (onnxruntime runs every exported model; onnx checks it), versions in
# .ci/toolchain.env, into a cache folder outside the project, and prints it.
# Zeno itself never imports them.
#
#   PYTHONPATH="$(bash .ci/install_oracles.sh)" python3 tests/onnx/ort_run.py
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
. "$here/toolchain.env"
root=${ZENO_ORACLES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zeno/oracles/onnxruntime-$ONNXRUNTIME_VERSION}
if ! PYTHONPATH="$root" python3 -c "import onnx, onnxruntime" 2>/dev/null; then
  rm -rf "$root.tmp"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$root.tmp" "onnxruntime==$ONNXRUNTIME_VERSION" "onnx==$ONNX_VERSION" >&2
  rm -rf "$root"
  mv "$root.tmp" "$root"
fi
PYTHONPATH="$root" python3 -c "import onnx, onnxruntime" || { echo "install_oracles: $root lacks onnx or onnxruntime" >&2; exit 1; }
echo "$root"
