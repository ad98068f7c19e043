"""Runs a command and prints its peak resident set as one JSON line,
{"peakBytes": N}: getrusage(RUSAGE_CHILDREN).ru_maxrss, the largest of the
processes it waited for, measured the same way for any program. "{tmp}" in
an argument becomes a temporary folder, removed afterwards.

    python3 bench/peak_rss.py deno run -A examples/mnist/train.ts --out {tmp}/m.safetensors
"""
import json
import resource
import shutil
import subprocess
import sys
import tempfile

tmp = tempfile.mkdtemp()
try:
    argv = [a.replace("{tmp}", tmp) for a in sys.argv[1:]]
    code = subprocess.run(argv, stdout=subprocess.DEVNULL).returncode
finally:
    shutil.rmtree(tmp, ignore_errors=True)
if code != 0:
    raise SystemExit(f"peak_rss: {' '.join(sys.argv[1:])} exited with {code}")
print(json.dumps({"peakBytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
