#!/usr/bin/env bash
# The prepared command for a session lent a GPU (run from the repository root through the device tool):
#
#     bash scripts/device_paper.sh
#
# 1. prints the machine (GPU, torch, CUDA);
# 2. checks, on the device, that K = 3 seeds trained as one batched model equal three separate runs (chapter
#    05's ci shape; a mismatch stops the script before any paper run);
# 3. runs chapter 05 at `paper` scale through the notebook-free entry point, FUNCTIONS in order (PARITY first:
#    HR24's Thm 6 needs it), stopping cleanly before MINUTES, and packs every finished run into
#    $OUT/paper05.tar.gz. Back on the CPU machine: `tar -xzf paper05.tar.gz -C results/` (the archive holds
#    paper/sharpness_run/... and paper/sharpness_run.csv), then commit results/paper/.
#
# Settings by environment: MINUTES (default 8, leaving a 10-minute call time to pack), FUNCTIONS (default
# parity), SEEDS (default the preset's), SCALE (default paper), DEVICE (default cuda), OUT (default ./out),
# CHAPTER (default chapter 05, sharpness; 12 runs chapter 12's grokking and sparse-parity runs one at a time, into
# $OUT/paper12.tar.gz, FUNCTIONS unused).
# DEVICE=cpu SCALE=ci runs the same steps in seconds on a CPU (tests/core/test_make.py does).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}; MINUTES=${MINUTES:-8}; FUNCTIONS=${FUNCTIONS:-parity}; SCALE=${SCALE:-paper}; DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" REPLICATION_QUIET=1
# chapter numbers come from the registry (replication/runs/chapters.py): CHAPTER may be a number or a name
number() { "$PY" -c 'import sys; from replication.runs.chapters import chapter; print(chapter(sys.argv[1]).number)' "$1"; }
CHAPTER=$(number "${CHAPTER:-sharpness}")
SHARPNESS=$(number sharpness)

"$PY" - "$DEVICE" <<'PY'
import sys, time
import torch
device = sys.argv[1]
print(f"torch {torch.__version__}, cuda {torch.version.cuda}, device {device}"
      + (f": {torch.cuda.get_device_name(0)}" if device == "cuda" else ""))
from replication.train.batched import train_batched
from replication.train.hr24 import TrainConfig, train
cfgs = [TrainConfig(function="parity", n=6, d=16, steps=60, batch_size=64, eval_every=20, seed=s, device=device)
        for s in range(3)]
t = time.perf_counter()
batched = train_batched(cfgs, progress=False)
single = [train(c, progress=False) for c in cfgs]
# Losses and evaluation MSEs along training (the attention key bias has an exactly zero gradient, so its
# rounding noise is no test: tests/core/train/test_batched.py).
worst = 0.0
for b, s in zip(batched, single):
    pairs = [(hb[k], hs[k]) for hb, hs in zip(b.history, s.history) for k in ("loss", "eval_mse") if k in hs]
    pairs.append((b.eval_mse, s.eval_mse))
    worst = max([worst] + [abs(x - y) / max(abs(y), 1e-7) for x, y in pairs])
print(f"batched against separate runs: largest relative difference in loss and evaluation MSE {worst:.2e} "
      f"({time.perf_counter() - t:.1f} s)")
if not worst < 1e-3:
    sys.exit("the batched trainer does not match separate runs on this device: no paper run started")
PY

seeds=()
[ -n "${SEEDS:-}" ] && seeds=(--seeds "$SEEDS")
functions=()
[ "$CHAPTER" = "$SHARPNESS" ] && functions=(--functions "$FUNCTIONS")
"$PY" -m replication.make --scale "$SCALE" --chapter "$CHAPTER" "${functions[@]}" "${seeds[@]}" \
    --max-minutes "$MINUTES" --device "$DEVICE" --results-dir "$OUT/results" --archive "$OUT/paper$CHAPTER.tar.gz"
