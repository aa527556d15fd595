"""Background sweep (chapter 10, the blank-patch diagnosis): the binary MNIST ViT trained again without its patch
LayerNorm, at every seed the cpu preset names (binary_no_patch_norm), written into results/cpu as each run finishes
(resumable). Run with one torch thread:
    OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/vision_nopn_sweep.py &
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["REPLICATION_RESULTS"] = "write"
os.environ["REPLICATION_SCALE"] = "cpu"
os.environ["REPLICATION_QUIET"] = "1"
import torch  # noqa: E402

torch.set_num_threads(1)
from replication.experiments import vision_sensitivity as ch  # noqa: E402
from replication.experiments.vision_sensitivity.binary import no_patch_norm_runs  # noqa: E402
from replication.runs.store import Store  # noqa: E402

cfg = ch.VisionConfig.from_params(scale="cpu")
runs, results = ch.binary_table(cfg, cache=Store(scale="cpu"), configs=no_patch_norm_runs(cfg))
print(runs[["arch", "seed", "train_acc", "test_acc", "sensitivity", "epochs_run", "train_seconds"]].to_string())
