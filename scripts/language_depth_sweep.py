"""Background sweep (V25 App. A.4): chapter 11's runs again at the other depths of the cpu preset, one run at a
time, written into results/cpu as each run finishes (resumable).
Run: OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/language_depth_sweep.py &"""

from _background import cpu_store

store = cpu_store()
from replication.experiments.language_sensitivity import analysis, depth, runs  # noqa: E402 (after the environment)

cfg = runs.PRESETS["cpu"]
table = depth.depth_table(cfg, analysis.run_table(cfg, cache=store), cache=store)
print(table.to_string())
