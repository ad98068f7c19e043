#!/usr/bin/env bash
# Assembles the CUDA kernels' PTX (zig/zig-out/lib/zeno_kernels.ptx, built by
# `zig build`) with NVIDIA's ptxas for sm_80 and sm_90 and fails on errors.
# The cubins stay beside the library as zeno_kernels.<hash>.sm_<NN>.cubin
# (<hash>: the PTX's SHA-256, first 16 hex digits), where the library finds
# them and skips the driver's JIT compile (zig/src/cuda/cubin.zig); cubins of
# other PTX are removed.
# ptxas comes from PATH, from $PTXAS, or from the nvidia-cuda-nvcc wheel
# (a pinned version, installed quietly into a scratch virtual environment when
# pip is there);
# without any of them the check is skipped with the reason printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ptx=zig/zig-out/lib/zeno_kernels.ptx
if [[ ! -f $ptx ]]; then
  (cd zig && zig build ptx --summary none)
fi

find_ptxas() {
  if [[ -n ${PTXAS:-} && -x $PTXAS ]]; then echo "$PTXAS"; return; fi
  if command -v ptxas >/dev/null 2>&1; then command -v ptxas; return; fi
  local venv=${PTXAS_VENV:-${TMPDIR:-/tmp}/zeno-ptxas-venv}
  local found
  found=$(find "$venv" -type f -name ptxas 2>/dev/null | head -1 || true)
  if [[ -z $found ]]; then
    if ! command -v python3 >/dev/null 2>&1; then return; fi
    python3 -m venv "$venv" >/dev/null 2>&1 || return 0
    "$venv/bin/pip" install --quiet "nvidia-cuda-nvcc==${PTXAS_WHEEL_VERSION:-13.5.37}" >/dev/null 2>&1 || return 0
    found=$(find "$venv" -type f -name ptxas 2>/dev/null | head -1 || true)
  fi
  [[ -n $found ]] && chmod +x "$found" && echo "$found"
  return 0
}

ptxas=$(find_ptxas || true)
if [[ -z $ptxas ]]; then
  echo "skipped: no ptxas (not on PATH, and pip could not install nvidia-cuda-nvcc)"
  exit 0
fi
echo "ptxas: $ptxas ($("$ptxas" --version | tail -1))"
lib=$(dirname "$ptx")
hash=$(sha256sum "$ptx" | cut -c1-16)
for old in "$lib"/zeno_kernels.*.cubin; do
  [[ -e $old && $old != "$lib/zeno_kernels.$hash."* ]] && rm -f "$old"
done
for arch in sm_80 sm_90; do
  cubin="$lib/zeno_kernels.$hash.$arch.cubin"
  "$ptxas" -arch="$arch" "$ptx" -o "$cubin.part"
  mv "$cubin.part" "$cubin"
  echo "$arch: ok ($(wc -c <"$cubin") bytes, $cubin)"
done
