"""Background sweep (HR24 Fig. 7/8 at ten seeds): width-4 MAJORITY, 10 seeds, 10,000 steps from n = 64, written
into results/cpu as each run finishes (resumable). Run: nohup .venv/bin/python scripts/long_majority_sweep.py &
When every run is committed, set the cpu preset's majority_long_seeds=10, majority_long_from_n=64."""

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["REPLICATION_RESULTS"] = "write"
os.environ["REPLICATION_SCALE"] = "cpu"
os.environ["REPLICATION_QUIET"] = "1"
from replication.experiments.sharpness import sweep  # noqa: E402 (after the environment)
from replication.runs.store import Store  # noqa: E402

cpu = sweep.PRESETS["cpu"]
ext = dataclasses.replace(cpu, majority_long_seeds=10, majority_long_from_n=64, majority_long_steps=10_000)
runs = [r for r in sweep.long_run_configs(ext) if r.function == "majority"]
runs.sort(key=lambda r: (r.n, r.seed))
df = sweep.run_sweep(
    runs, sweep.measure_run, sweep.KIND, cache=Store(scale="cpu"), n_jobs=2, progress=False, device="cpu"
)
print(df.groupby("n")["converged"].agg(["sum", "size"]))
