"""Chapter 11: what a run at V25's sizes costs, measured, not typed. :class:`StepCost` times training steps of one
run's model on its own batches (AdamW on the parameters it trains, one thread as the book runs) and forward passes
of perturbed pairs; :func:`projection` turns the stored timings into the cost of a whole run and of a sweep."""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import time
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from ...measures.sequence import sequence_sensitivity
from ...models.language import build, trained_parameters
from ...runs.store import Store
from ...runs.sweep import run_sweep
from .config import V25, LanguageConfig, language_runs
from .run import KIND, LSTM_CODE, NAMES, LanguageRun
from .measure import EVAL_BATCH, load_data


@dataclass(frozen=True)
class StepCost:
    """Timing ``steps`` training steps (after ``warmup`` untimed ones) of ``run``'s model on random batches of its
    training pairs, and ``evals`` perturbed forward passes of its sensitivity measure (stored under the chapter's
    kind, keyed by the run it times)."""

    run: LanguageRun
    steps: int = 20
    warmup: int = 3
    evals: int = 512

    def __post_init__(self):
        for name in ("steps", "warmup", "evals"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "warmup" else 1):
                raise ValueError(f"{name}: must be an integer >= {0 if name == 'warmup' else 1}, got {v!r}")


def measure_steps(cost: StepCost, device: str = "cpu") -> dict:
    """CPU seconds (the process's, so that other jobs on the machine do not count; one thread) per training step
    (median and each step; the wall-clock median beside them), per perturbed pair of the sensitivity and per pair
    of an accuracy pass, the mean pair length and the vocabulary the tokenizer built."""
    run = cost.run
    data = load_data(run)
    torch.manual_seed(run.seed)
    model = build(run.model, data["vocab"], run.d, run.layers, run.heads, run.ff, run.max_len, run.dropout, run.head)
    model = model.to(device)
    opt = torch.optim.AdamW(trained_parameters(model, run.trains), lr=run.lr, weight_decay=run.weight_decay)
    ids, lengths, labels = data["train"]
    g = torch.Generator().manual_seed(run.seed)
    times, walls = [], []
    model.train()
    for i in range(cost.warmup + cost.steps):
        b = torch.randint(len(ids), (run.batch_size,), generator=g)
        t0, w0 = time.process_time(), time.perf_counter()
        width = int(lengths[b].max())
        loss = F.cross_entropy(model(ids[b, :width].to(device), lengths[b].to(device)), labels[b].to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= cost.warmup:
            times.append(time.process_time() - t0)
            walls.append(time.perf_counter() - w0)
    model.eval()
    n = max(1, math.ceil(cost.evals / max(1, int(lengths[:64].sum()))))  # pairs whose every token makes ~evals
    t0 = time.process_time()
    s = sequence_sensitivity(model, ids[:n], lengths[:n], math.sqrt(15.0), 1, generator=torch.Generator())
    per_eval = (time.process_time() - t0) / s.n_evaluations
    t0 = time.process_time()
    with torch.no_grad():
        m = min(len(ids), EVAL_BATCH)
        model(ids[:m], lengths[:m])
    per_pair = (time.process_time() - t0) / m
    return {
        "seconds_per_step": statistics.median(times),
        "step_seconds": times,
        "wall_seconds_per_step": statistics.median(walls),
        "seconds_per_eval": per_eval,
        "seconds_per_pair": per_pair,
        "mean_length": float(lengths.float().mean()),
        "vocab": data["vocab"],
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],  # other jobs on the machine while it was timed (1-minute average)
    }


#: What a timing does not depend on: the run's length and its measurements, fixed so that the stored timing stays
#: the same when they change.
UNTIMED = dict(
    epochs=1, checkpoints=(0, 1), variances=(15.0,), n_sens=1, repeats=1, code_path=False, sens_splits=("train",)
)


def step_runs(cfg: LanguageConfig) -> list[StepCost]:
    """One timing per model (each LSTM variant apart) of ``cfg``'s runs, on its seed 0, the run's length and
    measurements left out (:data:`UNTIMED`)."""
    return [StepCost(dataclasses.replace(r, **UNTIMED)) for r in language_runs(cfg) if r.seed == 0]


def variant(run: LanguageRun) -> str:
    """How a run's model is written: the model's name, the LSTM trained as V25's released script apart."""
    return LSTM_CODE if run.model == "lstm" and run.trains == "lstm" else NAMES[run.model]


def projection(run: LanguageRun, timing: dict) -> dict:
    """The cost of ``run`` from its model's stored timing: training steps (epochs × batches), perturbed forward
    passes (every real token of ``n_sens`` pairs per split, draw and variance at each checkpoint, the code's noise
    path at the first and last for a transformer) and accuracy passes, in seconds."""
    n_train = run.n_train or 0
    steps = run.epochs * math.ceil(n_train / run.batch_size)
    once = len(run.variances) * run.n_sens * run.repeats * timing["mean_length"]  # one split, one checkpoint
    measured = min(2, len(run.checkpoints)) if run.sens_ends else len(run.checkpoints)
    code = 2 * once if run.code_path and run.model != "lstm" else 0.0
    evals = measured * len(run.sens_splits) * once + code
    train = steps * timing["seconds_per_step"]
    measure = (
        evals * timing["seconds_per_eval"]
        + len(run.checkpoints) * (n_train + (run.n_val or 0)) * timing["seconds_per_pair"]
    )
    return {"steps": steps, "train_s": train, "evaluations": evals, "measure_s": measure, "total_s": train + measure}


def cost_table(cfg: LanguageConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """One row per model of ``cfg`` (the meaning runs): the stored timing (seconds per step, per perturbed pair)
    and the projected seconds of one run and of all its seeds; empty when the timings are not stored in
    ``require`` mode (the book reads what is stored)."""
    from ...runs.stored import missing

    cache = cache if cache is not None else Store(scale=cfg.scale)
    todo = step_runs(cfg)
    if cache.mode == "require" and missing(KIND, todo, cache):
        return pd.DataFrame()
    table = run_sweep(todo, measure_steps, KIND, cache=cache, n_jobs=1, progress=progress, device="cpu")
    rows = []
    for r, (_, t) in zip([r for r in language_runs(cfg) if r.seed == 0], table.iterrows()):
        p = projection(r, t)
        rows.append(
            {
                "model": variant(r),
                "s/step": round(float(t["seconds_per_step"]), 3),
                "wall s/step": round(float(t["wall_seconds_per_step"]), 3),
                "ms/perturbed pair": round(1000 * float(t["seconds_per_eval"]), 2),
                "mean tokens": round(float(t["mean_length"]), 1),
                "steps/run": p["steps"],
                "train h/run": round(p["train_s"] / 3600, 2),
                "measure h/run": round(p["measure_s"] / 3600, 2),
                "h, all seeds": round(cfg.seeds * p["total_s"] / 3600, 1),
                "threads": int(t["threads"]),
                "load": round(float(t.get("load_average", float("nan"))), 1),
                "vocab": int(t["vocab"]),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def settings(cfg: LanguageConfig, costs: pd.DataFrame) -> pd.DataFrame:
    """The meaning runs' settings (``cfg`` is the chapter's config) beside V25's released scripts (§6, App. D), with
    each model's stored step cost and the projected cost of the sweep (:func:`cost_table`; "not measured" when
    it is not stored)."""
    m, p = cfg.meaning, V25
    vocab = f"{int(costs['vocab'].iloc[0]):,} built" if len(costs) else "not built yet"
    step = (
        "; ".join(f"{k} {r['s/step']:.2f} s" for k, r in costs.iterrows())
        + f" of CPU time a step (batch {m.batch_size}, {int(costs['threads'].iloc[0])} thread; load average up to "
        f"{costs['load'].max():.1f} on the machine while timed)"
        if len(costs)
        else "not measured at this scale"
    )
    total = f"{costs['h, all seeds'].sum():.1f} CPU-hours for all runs, projected" if len(costs) else "not measured"
    rows = [
        (
            "data",
            "MRPC: 3,668 training pairs (QQP: 364k)",
            f"WordNet paraphrase task: {m.n_train:,} training / {m.n_val:,} validation pairs",
        ),
        (
            "tokeniser",
            f"RoBERTa's BPE, {p['vocab_size']:,} tokens",
            f"a BPE asked for {m.vocab_size:,} tokens: {vocab}; at most {m.max_len} a pair",
        ),
        (
            "RoBERTa",
            f"width {p['d']}, {p['layers']} layers, {p['heads']} heads, feed-forward {p['ff']:,}",
            f"width {m.d}, {m.layers} layers, {m.heads} heads, feed-forward {m.ff:,}",
        ),
        (
            "LSTM",
            f"{p['layers']} × {p['d']}, Embedding + LayerNorm in, a linear head",
            f"{m.layers} × {m.d}, Embedding + LayerNorm in, a {m.lstm_head} head",
        ),
        (
            "what the LSTM trains",
            "its nn.LSTM module only (the script's optimiser)",
            " and ".join({"all": "every parameter", "lstm": "its nn.LSTM only"}[t] for t in m.lstm_trains)
            + ", one run each",
        ),
        (
            "optimiser",
            f"AdamW, lr {p['lr']:g}, weight decay {p['weight_decay']:g}, dropout {p['dropout']:g}, batch {p['batch_size']}",
            f"AdamW, lr {m.lr:g}, weight decay {m.weight_decay:g}, dropout {m.dropout:g}, batch {m.batch_size}",
        ),
        (
            "schedule",
            f"{p['epochs']} epochs, lr × {p['lr_decay']:g} after each",
            f"{m.epochs} epochs, lr × {m.lr_decay:g} after each; accuracy after epochs {', '.join(map(str, m.checkpoints))}",
        ),
        (
            "sensitivity",
            f"{p['n_sens']} training pairs, {p['repeats']} draws a token, σ² = 15 (4)",
            f"{m.n_sens} training pairs, {m.repeats} draws a token, σ² = {', '.join(f'{v:g}' for v in m.variances)}, at initialisation and the end",
        ),
        (
            "noise path",
            "the paper: on the LayerNorm-ed embedding; the code: RoBERTa's before positions and LayerNorm",
            "both, in every run" if m.code_path else "the paper's",
        ),
        ("seeds", "not stated", f"{m.seeds} per model"),
        ("cost", "about 24 GPU-hours per experiment (V25)", f"{step}; {total}"),
    ]
    return pd.DataFrame(rows, columns=["setting", "V25's scripts (§6, App. D)", f"this scale ({cfg.scale})"]).set_index(
        "setting"
    )
