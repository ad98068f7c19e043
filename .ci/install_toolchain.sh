#!/usr/bin/env bash
# Installs the pinned Deno and Zig (from .ci/toolchain.env) into a cache folder
# outside the project and prints the folder that holds `deno` and `zig`.
#
#   eval "$(bash .ci/install_toolchain.sh --env)"   # puts both on PATH
#
# Both come as Python wheels (`deno`, `ziglang`), so pip is all it needs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
. "$here/toolchain.env"
root=${ZENO_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zeno/toolchain}
dir="$root/deno-$DENO_VERSION-zig-$ZIG_VERSION"
bin="$dir/bin"
if [ ! -x "$bin/deno" ] || [ ! -x "$bin/zig" ]; then
  mkdir -p "$dir"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$dir/py" "deno==$DENO_VERSION" "ziglang==$ZIG_VERSION" >&2
  mkdir -p "$bin"
  ln -sf "$dir/py/bin/deno" "$bin/deno"
  ln -sf "$dir/py/ziglang/zig" "$bin/zig"
fi
"$bin/deno" --version | head -1 | grep -q "deno $DENO_VERSION" || { echo "install_toolchain: $bin/deno is not Deno $DENO_VERSION" >&2; exit 1; }
[ "$("$bin/zig" version)" = "$ZIG_VERSION" ] || { echo "install_toolchain: $bin/zig is not Zig $ZIG_VERSION" >&2; exit 1; }
if [ "${1:-}" = "--env" ]; then
  echo "export PATH=\"$bin:\$PATH\""
else
  echo "$bin"
fi
