"""Background sweep (chapter 10): the post-hoc measures (noise-level sweep, blank patches, whole-image noise) on the
stored binary MNIST models, at the end of the budget and at the checkpoint of the highest matched training
accuracy, one model at a time, written into results/cpu as each finishes (resumable). Run with one torch thread:
    OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/vision_posthoc_sweep.py [pixel] &
With ``pixel``: the same models measured at V25's noise read on [0, 1] pixels alone (:mod:`.pixel`).
"""

import sys

from _background import cpu_store

store = cpu_store()
from replication.experiments import vision_sensitivity as ch  # noqa: E402 (after the environment)
from replication.experiments.vision_sensitivity.pixel import pixel_posthoc_runs  # noqa: E402
from replication.experiments.vision_sensitivity.posthoc import matched_posthoc_runs  # noqa: E402

cfg = ch.VisionConfig.from_params(scale="cpu")
todo = pixel_posthoc_runs(cfg) if "pixel" in sys.argv[1:] else ch.posthoc_runs(cfg) + matched_posthoc_runs(cfg)
for run in todo:
    _, (res,) = ch.posthoc_table(cfg, cache=store, configs=[run])
    print(run.binary.arch, run.binary.seed, run.checkpoint, res.get("reached", True), flush=True)
