"""Background sweep (V25 §4.1): chapter 09's protocol sweep (initialisation scale × learning rate, seed 0 of every
setting) and then the cpu preset's runs, each trained until its training loss reaches the preset's stop_loss (at
most its epochs), one run at a time, written into results/cpu as each finishes (resumable).
The longer runs without the stop rule (check_epochs) come last.
Run: OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/synthetic_protocol_sweep.py [sweep|runs|both] &"""

import dataclasses
import sys

from _background import cpu_store

store = cpu_store()
from replication.experiments.token_sensitivity import runs as synthetic  # noqa: E402 (after the environment)

what = sys.argv[1] if len(sys.argv) > 1 else "both"
cfg = dataclasses.replace(synthetic.PRESETS["cpu"], n_jobs=1)
if what in ("sweep", "both"):
    print(synthetic.protocol_table(synthetic.protocol_curves(cfg, cache=store, progress=False)).to_string())
if what in ("runs", "both"):
    print(synthetic.summary_table(synthetic.final_table(synthetic.curves(cfg, cache=store, progress=False))))
    print(synthetic.final_table(synthetic.check_curves(cfg, cache=store, progress=False)).to_string())
