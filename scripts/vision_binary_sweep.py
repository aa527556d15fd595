"""Background sweep (V25 App. A.1, Fig. 13): chapter 10's binary MNIST experiment at `cpu` scale, the ViT and the
MLP at every seed of the preset, written into results/cpu as each run finishes (resumable: a rerun skips the
finished runs). Run with one torch thread:
    OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/vision_binary_sweep.py &
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
from replication.runs.store import Store  # noqa: E402

cfg = ch.VisionConfig.from_params(scale="cpu")
runs, results = ch.binary_table(cfg, cache=Store(scale="cpu"))
checks = ch.checkpoint_table(runs, results)
print(ch.matched_table(checks).to_string())
print(ch.settle_table(cfg, runs, results).to_string())
