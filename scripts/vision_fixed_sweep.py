"""Background sweep (chapter 10): the 10-class comparison under one fixed epoch budget (ViT, CNN, MLP; the ViT
also regularised and augmented), then the ViT with the released code's dropout, seed by seed so that a partial
sweep is balanced; written into results/cpu as each run finishes (resumable). Run with one torch thread:
    OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/vision_fixed_sweep.py [reverse] &
(two processes, one with ``reverse``, share the work from both ends; each skips what the other stored).
With ``pixel``: the plain models trained again and measured at V25's noise on [0, 1] pixels (:mod:`.pixel`)."""

import sys

from _background import cpu_store

store = cpu_store()
from replication.experiments import vision_sensitivity as ch  # noqa: E402 (after the environment)
from replication.experiments.vision_sensitivity.fixed import fixed_table  # noqa: E402
from replication.experiments.vision_sensitivity.pixel import pixel_runs  # noqa: E402
from replication.experiments.vision_sensitivity.runs import fixed_runs  # noqa: E402

cfg = ch.VisionConfig.from_params(scale="cpu")
configs = pixel_runs(cfg) if "pixel" in sys.argv[1:] else fixed_runs(cfg)
todo = sorted(configs, key=lambda r: (r.dropout > 0, r.seed))  # seed by seed, the dropout variant last
for run in reversed(todo) if "reverse" in sys.argv[1:] else todo:
    runs, _ = fixed_table(cfg, cache=store, configs=[run])  # one at a time: a run the other process stored is read
    print(run.arch, run.method, run.seed, run.dropout, f"{float(runs['sensitivity'].iloc[0]):.4f}", flush=True)
