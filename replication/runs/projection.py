"""How long a computation will take, measured before it starts: a few training steps of a run (or of runs trained as
one batched model) timed now and scaled to the whole budget. ``python -m replication.make`` prints these projections
and rescales them by the jobs it has finished."""

from __future__ import annotations

import dataclasses
import time

import torch


def step_time(run, device: str, k: int, steps: int = 10) -> float:
    """Seconds per training step of ``k`` runs like ``run`` trained as one model, measured now: a short
    batched run after a warm-up, its evaluations included (so the figure errs on the long side)."""
    from ..train import train_batched

    cfg = run.train_config(device)
    few = [dataclasses.replace(cfg, seed=s, steps=steps, eval_every=steps) for s in range(k)]
    train_batched([dataclasses.replace(c, steps=1, eval_every=1) for c in few[:1]], progress=False)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train_batched(few, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def project(jobs: list[list], runs: list, device: str, batch_size: int) -> list[float]:
    """Projected seconds of each job: a step time measured at the shortest and the longest input length of
    the plan (at the largest batch), interpolated linearly in n, times each job's steps, plus a tenth for the
    measurements after training. :func:`main` rescales the rest by how long the finished jobs took."""
    ns = sorted({runs[j[0]].n for j in jobs})
    k = min(batch_size, max(len(j) for j in jobs))
    lo_run = next(runs[j[0]] for j in jobs if runs[j[0]].n == ns[0])
    hi_run = next(runs[j[0]] for j in jobs if runs[j[0]].n == ns[-1])
    t_lo = step_time(lo_run, device, k)
    t_hi = t_lo if ns[0] == ns[-1] else step_time(hi_run, device, k)

    def per_step(n: int, size: int) -> float:
        t = t_lo if ns[0] == ns[-1] else t_lo + (t_hi - t_lo) * (n - ns[0]) / (ns[-1] - ns[0])
        return t * max(size, 1) / k if size < k else t

    return [1.1 * runs[j[0]].steps * per_step(runs[j[0]].n, len(j)) for j in jobs]


def run_seconds(run, measure, device: str, steps: int = 10) -> float:
    """Projected seconds of one run trained alone: ``steps`` steps of it timed now (after a one-step warm-up),
    its evaluations included, scaled to its whole budget (an upper bound for a run that may stop early)."""
    measure(_shorter(run, 1), device)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    measure(_shorter(run, steps), device)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps * run.steps


def _shorter(run, steps: int):
    """``run`` with a budget of ``steps`` (a dense early schedule, where the run has one, cut to fit)."""
    if getattr(run, "dense_until", 0):
        return dataclasses.replace(run, steps=steps, dense_until=min(run.dense_until, steps))
    return dataclasses.replace(run, steps=steps)
