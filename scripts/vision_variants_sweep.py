"""Background sweep (chapter 10): the binary MNIST ViT trained again without its patch LayerNorm (the blank-patch
diagnosis; binary_no_patch_norm seeds), then with Adam on V25's schedule (Fig. 14; binary_adam seeds), written into
results/cpu as each run finishes (resumable). Run with one torch thread:
    OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/vision_variants_sweep.py [nopn|adam|both] &
"""

import sys

from _background import cpu_store

store = cpu_store()
from replication.experiments import vision_sensitivity as ch  # noqa: E402
from replication.experiments.vision_sensitivity.binary import adam_runs, no_patch_norm_runs  # noqa: E402

what = sys.argv[1] if len(sys.argv) > 1 else "both"
cfg = ch.VisionConfig.from_params(scale="cpu")
todo = (no_patch_norm_runs(cfg) if what in ("nopn", "both") else []) + (
    adam_runs(cfg) if what in ("adam", "both") else []
)
runs, results = ch.binary_table(cfg, cache=store, configs=todo)
print(
    runs[
        ["arch", "seed", "optimizer", "train_acc", "test_acc", "sensitivity", "epochs_run", "train_seconds"]
    ].to_string()
)
