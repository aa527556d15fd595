"""How fast the book's expensive paths are, each against the original code's way, in the same process.

Every section times the book's path and a reference written the way the original code does it
(``benchmarks/reference.py``) on the same inputs, checks that both give the same numbers, and reports the
ratio *ours / reference* in speed (> 1: the book is faster). Timings of a pair are interleaved repeat by
repeat (the order alternating), so load from other jobs falls on both sides; every figure is the median
over repeats, with the range over repeats as its spread.

Sections:

- ``train``: the HR24 encoder's training step (one torch thread, as :func:`replication.train.fit`) at the
  ``cpu`` preset's shape and at the paper's, against a plain ``nn.TransformerEncoder`` training loop; its
  achieved FLOP/s as a fraction of a large ``torch.mm``'s, and the largest costs named by ``torch.profiler``;
- ``batched_seeds``: several seeds trained as one batched model (``torch.func`` stacking and ``vmap``)
  against the same seeds one after another, the bare step and the package's
  :func:`replication.train.train_batched` (used on the GPU; on the CPU only when asked: see the README);
- ``sharpness``: Eq. 15 (:func:`replication.measures.sharpness.sharpness_both`: perturbations batched with ``vmap``
  at small lengths, the folded forward pass at the others) against copy-and-perturb on the original code's
  model, over chapter 05's ``cpu`` lengths;
- ``cube``: the exact average sensitivity of a trained model over ``{0,1}^16``
  (:func:`replication.measures.sensitivity.model_average_sensitivity`) against every string with its 16 neighbours;
- ``sweep``: small runs through :func:`replication.runs.sweep.run_sweep` (2 loky workers) against the same runs
  one after another in this process, and through a Dask cluster started with Dask's command-line tools;
- ``chapter05``: a fixed sample of chapter 05's ``cpu`` sweep, shortened, through the sweep runner against
  the original code's way (the ``nn.TransformerEncoder`` model trained, copy-and-perturb sharpness, one
  model at a time, runs in sequence in one process).

Run: ``make bench`` (the full suite, about 10 minutes on 2 cores) or
``.venv/bin/python benchmarks/run.py [--quick] [--json] [--only train,sharpness]``. ``--quick`` runs in
under a minute; ``--json`` prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["REPLICATION_RESULTS"] = "off"  # never read or write results/ (workers inherit it)
os.environ.setdefault("REPLICATION_QUIET", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

from replication.tasks import boolean
from replication.models import folded
from replication.measures import sensitivity
from replication.measures import sharpness as sharpness_mod
from replication.runs.cache import Cache  # noqa: E402
from replication.models.encoder import EncoderConfig, HR24Encoder  # noqa: E402
from replication.runs.provenance import machine  # noqa: E402
from replication.train import single_thread  # noqa: E402

SECTIONS = ("train", "batched_seeds", "sharpness", "cube", "sweep", "chapter05")

#: Settings per mode: (full, quick).
SETTINGS = {
    "repeats": (5, 3),
    "train_steps": ({"cpu": 20, "paper": 3}, {"cpu": 6, "paper": 1}),
    "batched_ns": ((4, 8, 16, 30), (8, 30)),
    "batched_steps": (20, 4),
    "sharpness_ns": ((4, 6, 8, 10, 12, 16, 20, 30), (6, 30)),
    "sharpness_perturbations": (20, 4),
    "cube_flip_strings": (4096, 512),
    "sweep_runs": (8, 4),
    "sweep_steps": (100, 10),
    "ceiling_reps": (150, 20),
    "chapter05_runs": (8, 2),
    "chapter05_steps": (300, 20),
    "chapter05_repeats": (3, 2),
    "dask": (True, False),
}


def setting(name: str, quick: bool):
    return SETTINGS[name][1 if quick else 0]


# ---------------------------------------------------------------------------------------------------
# Timing


def stats(values: list[float]) -> dict:
    """Median and range of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "repeats": len(values)}


def timed(fns: dict, repeats: int) -> dict:
    """Time every function of ``fns`` ``repeats`` times, interleaved: in repeat ``r`` the order is rotated
    by ``r``, so that a burst of load from other jobs falls on every side. Returns ``{name: [seconds]}``
    and, under ``"values"``, each function's last return value."""
    names = list(fns)
    times: dict = {k: [] for k in names}
    values: dict = {}
    for r in range(repeats):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            t = time.perf_counter()
            values[k] = fns[k]()
            times[k].append(time.perf_counter() - t)
    return {**times, "values": values}


def paired(ours, ref, repeats: int) -> dict:
    """:func:`timed` for two functions, with the per-repeat speed ratio ``t_ref / t_ours``."""
    t = timed({"ours": ours, "ref": ref}, repeats)
    ratios = [b / a for a, b in zip(t["ours"], t["ref"])]
    return {"ours_s": stats(t["ours"]), "ref_s": stats(t["ref"]), "ratio": stats(ratios), "values": t["values"]}


def fmt_ratio(s: dict) -> str:
    return f"{s['median']:.2f}x [{s['min']:.2f}-{s['max']:.2f}]"


def fmt_s(s: dict, scale: float = 1.0, unit: str = "s") -> str:
    return f"{s['median'] * scale:.3g} {unit} [{s['min'] * scale:.3g}-{s['max'] * scale:.3g}]"


def say(*a):
    print(*a, flush=True)


def check(name: str, ok: bool, detail: str) -> dict:
    say(f"  check {name}: {'same numbers' if ok else 'DIFFERENT'} ({detail})")
    if not ok:
        raise AssertionError(f"{name}: the fast path and its reference disagree: {detail}")
    return {"check": name, "ok": ok, "detail": detail}


def hr24(n: int, d: int, seed: int = 0) -> HR24Encoder:
    torch.manual_seed(seed)
    return HR24Encoder(EncoderConfig(n=n, d=d))


# ---------------------------------------------------------------------------------------------------
# Training step, FLOP/s, profiler


SHAPES = {"cpu": (30, 32, 128), "paper": (30, 128, 1024)}  # (n, d, batch)


def matmul_peak(threads: int, size: int = 1024, seconds: float = 0.45) -> float:
    """Measured float32 FLOP/s of a large square ``torch.mm`` with ``threads`` threads (best of 3 bursts)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        torch.mm(a, b)
        best = 0.0
        for _ in range(3):
            reps, t = 0, time.perf_counter()
            while time.perf_counter() - t < seconds / 3:
                torch.mm(a, b)
                reps += 1
            best = max(best, 2 * size**3 * reps / (time.perf_counter() - t))
        return best
    finally:
        torch.set_num_threads(before)


def step_flops(n: int, d: int, batch: int, layers: int = 2, ff: int | None = None) -> float:
    """Matmul FLOPs of one training step of the book's encoder: 3x the forward pass (the backward pass
    computes two products per forward one). The forward: every layer but the last over all ``n``
    positions (q, k, v, scores, weighted values, out-projection, feed-forward), the last layer's keys and
    values over all positions and the rest at the last one only, and the head. The full run checks it
    against ``torch.utils.flop_counter``."""
    ff = d if ff is None else ff
    full = 2 * n * d * 3 * d + 2 * 2 * n * n * d + 2 * n * d * d + 2 * 2 * n * d * ff
    last = 2 * n * d * 2 * d + 2 * d * d + 2 * 2 * n * d + 2 * d * d + 2 * 2 * d * ff
    return float(3 * batch * ((layers - 1) * full + last + 2 * d))


def counted_flops(n: int, d: int, batch: int) -> float:
    """The same, counted by ``torch.utils.flop_counter`` on one forward and backward pass (slow to start)."""
    from torch.utils.flop_counter import FlopCounterMode

    m = hr24(n, d)
    x = boolean.random_strings(batch, n)
    with FlopCounterMode(display=False) as fc:
        F.mse_loss(m(x), boolean.parity(x)).backward()
    return float(fc.get_total_flops())


class Stepper:
    """A model, its optimiser and its batch stream; ``run(k)`` takes ``k`` training steps."""

    def __init__(self, model, params, n, batch, seed=0):
        self.model, self.n, self.batch = model.train(), n, batch
        self.opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.1)
        self.g = torch.Generator().manual_seed(seed)

    def run(self, k: int) -> list[float]:
        losses = []
        for _ in range(k):
            x = boolean.random_strings(self.batch, self.n, generator=self.g)
            loss = F.mse_loss(self.model(x), boolean.parity(x))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            losses.append(loss.detach())
        return [float(v) for v in losses]


def bench_train(quick: bool) -> dict:
    out: dict = {"threads": 1}
    repeats = setting("repeats", quick)
    with single_thread():
        peak1 = matmul_peak(1)
    peak_all = matmul_peak(torch.get_num_threads())
    out["peak_flops_1thread"], out["peak_flops_all_threads"] = peak1, peak_all
    say(
        f"  matmul peak (1024x1024 torch.mm): {peak1 / 1e9:.1f} GFLOP/s on 1 thread, "
        f"{peak_all / 1e9:.1f} on {torch.get_num_threads()}"
    )
    for shape, (n, d, batch) in SHAPES.items():
        steps = setting("train_steps", quick)[shape]
        with single_thread():
            m1 = hr24(n, d, 1)
            ours = Stepper(m1, m1.parameters(), n, batch)
            r1 = reference.OriginalModel(hr24(n, d, 1))
            ref = Stepper(r1, r1.trainable(), n, batch)
            # the same numbers: the first 2 steps from one initialisation on the same batches (in the quick
            # run at the paper's shape on 64 strings a step, the timed steps' first repeat warming up)
            if quick and shape == "paper":
                m2 = hr24(n, d, 2)
                r2 = reference.OriginalModel(m2)
                la, lb = Stepper(m2, m2.parameters(), n, 64).run(2), Stepper(r2, r2.trainable(), n, 64).run(2)
            else:
                la, lb = ours.run(2), ref.run(2)
            rel = max(abs(x - y) / abs(y) for x, y in zip(la, lb))
            c = check(f"train step {shape}", rel < 1e-4, f"losses of the first 2 steps agree to {rel:.1e} relative")
            p = paired(lambda: ours.run(steps), lambda: ref.run(steps), repeats)
        flops = step_flops(n, d, batch)
        if not quick:
            counted = counted_flops(n, d, 8) * batch / 8
            check(
                f"FLOPs {shape}",
                abs(counted - flops) <= 1e-9 * flops,
                f"{flops:.4g} by formula, {counted:.4g} counted by torch",
            )
        sps = steps / p["ours_s"]["median"]
        res = {
            "n": n,
            "d": d,
            "batch": batch,
            "steps_per_repeat": steps,
            "ours_step_ms": 1e3 * p["ours_s"]["median"] / steps,
            "ref_step_ms": 1e3 * p["ref_s"]["median"] / steps,
            "ratio": p["ratio"],
            "flops_per_step": flops,
            "achieved_flops": flops * sps,
            "peak_fraction": flops * sps / peak1,
            "check": c,
        }
        out[shape] = res
        say(
            f"  {shape:6s} n={n} d={d} batch={batch}: ours {res['ours_step_ms']:.1f} ms/step, "
            f"nn.TransformerEncoder {res['ref_step_ms']:.1f} ms/step, steps/s ratio {fmt_ratio(p['ratio'])}; "
            f"{flops / 1e9:.3f} GFLOP/step -> {res['achieved_flops'] / 1e9:.2f} GFLOP/s = "
            f"{100 * res['peak_fraction']:.0f}% of the 1-thread peak"
        )
    out["profile"] = profile_step(*SHAPES["cpu" if quick else "paper"], steps=2 if quick else 3)
    return out


def profile_step(n: int, d: int, batch: int, steps: int) -> dict:
    """The largest self-time costs of the training step (``torch.profiler``, one thread)."""
    from torch.profiler import ProfilerActivity, profile

    with single_thread():
        m = hr24(n, d)
        s = Stepper(m, m.parameters(), n, batch)
        s.run(1)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            s.run(steps)
    ev = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in ev)
    top = [{"op": e.key, "share": e.self_cpu_time_total / total, "calls_per_step": e.count / steps} for e in ev[:5]]
    say(
        f"  profile (n={n} d={d} batch={batch}), largest self-time costs: "
        + ", ".join(f"{t['op']} {100 * t['share']:.0f}%" for t in top)
    )
    return {"n": n, "d": d, "batch": batch, "top": top, "largest": top[0]["op"], "largest_share": top[0]["share"]}


# ---------------------------------------------------------------------------------------------------
# Several seeds as one batched model


class BatchedSeeds:
    """``S`` HR24 encoders (seeds ``0..S-1``) trained as one model: parameters stacked with
    ``torch.func.stack_module_state``, the forward pass ``vmap``-ed over them, one AdamW over the stacks
    (AdamW is elementwise, so this is ``S`` independent AdamWs)."""

    def __init__(self, n, d, batch, seeds, seed=0):
        from torch.func import functional_call, stack_module_state, vmap

        models = [hr24(n, d, s) for s in range(seeds)]
        self.params, _ = stack_module_state(models)
        shell = hr24(n, d).to("meta")
        self.forward = vmap(lambda p, x: functional_call(shell, p, (x,)))
        self.opt = torch.optim.AdamW(self.params.values(), lr=3e-4, weight_decay=0.1)
        self.n, self.batch, self.seeds = n, batch, seeds
        self.gens = [torch.Generator().manual_seed(seed + s) for s in range(seeds)]

    def run(self, k: int) -> list[list[float]]:
        losses = []
        for _ in range(k):
            x = torch.stack([boolean.random_strings(self.batch, self.n, generator=g) for g in self.gens])
            per_seed = ((self.forward(self.params, x) - boolean.parity(x)) ** 2).mean(-1)
            self.opt.zero_grad(set_to_none=True)
            per_seed.sum().backward()
            self.opt.step()
            losses.append([float(v) for v in per_seed.detach()])
        return losses


class SeedsInTurn:
    """The same ``S`` seeds, each its own model and optimiser, one step each in turn (one process)."""

    def __init__(self, n, d, batch, seeds, seed=0):
        self.models = [hr24(n, d, s).train() for s in range(seeds)]
        self.opts = [torch.optim.AdamW(m.parameters(), lr=3e-4, weight_decay=0.1) for m in self.models]
        self.gens = [torch.Generator().manual_seed(seed + s) for s in range(seeds)]
        self.n, self.batch = n, batch

    def run(self, k: int) -> list[list[float]]:
        losses = []
        for _ in range(k):
            row = []
            for m, opt, g in zip(self.models, self.opts, self.gens):
                x = boolean.random_strings(self.batch, self.n, generator=g)
                loss = F.mse_loss(m(x), boolean.parity(x))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                row.append(float(loss.detach()))
            losses.append(row)
        return losses


def bench_batched_seeds(quick: bool) -> dict:
    from replication.runs.encoder.sweep import PRESETS
    from replication.train import TrainConfig, train, train_batched

    cpu = PRESETS["cpu"]
    seeds, d, batch = cpu.seeds, cpu.d, cpu.batch_size
    steps, repeats = setting("batched_steps", quick), setting("repeats", quick)
    out: dict = {"seeds": seeds, "d": d, "batch": batch, "by_n": {}}
    with single_thread():
        a, b = BatchedSeeds(8, d, batch, seeds).run(3), SeedsInTurn(8, d, batch, seeds).run(3)
        rel = float(np.max(np.abs(np.array(a) - np.array(b)) / np.abs(np.array(b))))
        out["check"] = check("batched seeds", rel < 1e-4, f"losses of 3 steps agree to {rel:.1e} relative")
        for n in setting("batched_ns", quick):
            ours, ref = BatchedSeeds(n, d, batch, seeds), SeedsInTurn(n, d, batch, seeds)
            ours.run(1), ref.run(1)
            p = paired(lambda: ours.run(steps), lambda: ref.run(steps), repeats)
            out["by_n"][n] = {"ratio": p["ratio"], "ref_seed_step_ms": 1e3 * p["ref_s"]["median"] / steps / seeds}
            say(f"  n={n}: {seeds} seeds batched vs in turn (d={d}, batch {batch}): {fmt_ratio(p['ratio'])}")
        # The package's trainer (replication.train.train_batched), evaluations included, against train() in turn.
        k = setting("batched_steps", quick)
        cfgs = [TrainConfig("parity", 16, d=d, batch_size=batch, steps=k, eval_every=k, seed=s) for s in range(seeds)]
        p = paired(
            lambda: train_batched(cfgs, progress=False), lambda: [train(c, progress=False) for c in cfgs], repeats
        )
        out["train_batched"] = {"n": 16, "steps": k, "ratio": p["ratio"]}
        say(
            f"  replication.train.train_batched, {seeds} seeds at n=16 ({k} steps, evaluations included) vs "
            f"train() in turn: {fmt_ratio(p['ratio'])}"
        )
    # Over the chapter's runs: each length weighted by the time its runs take one after another.
    w = {n: v["ref_seed_step_ms"] for n, v in out["by_n"].items()}
    out["sweep_weighted_ratio"] = sum(w.values()) / sum(w[n] / v["ratio"]["median"] for n, v in out["by_n"].items())
    say(
        f"  weighted over these lengths by their step time: {out['sweep_weighted_ratio']:.2f}x "
        f"(adopted only above 1.3x)"
    )
    return out


# ---------------------------------------------------------------------------------------------------
# Sharpness


def bench_sharpness(quick: bool) -> dict:
    from replication.runs.encoder.sweep import PRESETS

    cpu = PRESETS["cpu"]
    P, repeats = setting("sharpness_perturbations", quick), setting("repeats", quick)
    ns = setting("sharpness_ns", quick)
    out: dict = {"d": cpu.d, "n_inputs": cpu.n_inputs, "n_perturbations": P, "by_n": {}}
    cases = []
    for n in ns:
        m = hr24(n, cpu.d, seed=n).eval()
        x = boolean.eval_strings(n, cpu.n_inputs)
        cases.append((n, m, x, boolean.majority(x)))
    kw = dict(rho=cpu.rho, n_perturbations=P, seed=0)
    with single_thread():
        worst = 0.0
        for _n, m, x, y in cases:
            got, want = sharpness_mod.sharpness_both(m, x, y, **kw), reference.copy_and_perturb(m, x, y, **kw)
            worst = max(worst, abs(got["sharpness"] - want["sharpness"]) / want["sharpness"])
        out["check"] = check("sharpness", worst < 2e-5, f"Eq. 15 agrees to {worst:.1e} relative at n = {list(ns)}")
        per_n = {}
        sides = ("ours", "ref") if quick else ("ours", "ref", "loop")  # the plain loop only in the full run
        for n, m, x, y in cases:
            per_n[n] = timed(
                {
                    k: v
                    for k, v in {
                        "ours": lambda: sharpness_mod.sharpness_both(m, x, y, **kw),
                        "ref": lambda: reference.copy_and_perturb(m, x, y, **kw),
                        "loop": lambda: sharpness_mod.sharpness_both(m, x, y, chunk=1, dedup=False, **kw),
                    }.items()
                    if k in sides
                },
                repeats,
            )
            t = per_n[n]
            rows = sharpness_mod._unique_rows(x)[0]
            is_folded = folded.foldable(m, rows) and sharpness_mod.perturbation_chunk(m, rows, P) == 1
            out["by_n"][n] = {
                "ratio": stats([b / a for a, b in zip(t["ours"], t["ref"])]),
                "ours_evals_per_s": P * len(x) / statistics.median(t["ours"]),
                "distinct_strings": len(rows),
                "path": "folded" if is_folded else "vmap",
            }
            if "loop" in t:
                out["by_n"][n]["ratio_vs_plain_loop"] = stats([b / a for a, b in zip(t["ours"], t["loop"])])
    total = {k: [sum(per_n[n][k][r] for n in ns) for r in range(repeats)] for k in sides}
    evals = P * cpu.n_inputs * len(ns)
    nan = {"median": float("nan"), "min": float("nan"), "max": float("nan"), "repeats": 0}
    out.update(
        ratio=stats([b / a for a, b in zip(total["ours"], total["ref"])]),
        ratio_vs_plain_loop=stats([b / a for a, b in zip(total["ours"], total["loop"])]) if "loop" in total else nan,
        ours_evals_per_s=evals / statistics.median(total["ours"]),
        ref_evals_per_s=evals / statistics.median(total["ref"]),
    )
    p, q = {"ratio": out["ratio"]}, {"ratio": out["ratio_vs_plain_loop"]}
    say(
        f"  over n = {list(ns)} (d={cpu.d}, {cpu.n_inputs} strings, {P} perturbations): "
        f"{out['ours_evals_per_s']:.3g} vs {out['ref_evals_per_s']:.3g} (perturbation x input)/s, ratio {fmt_ratio(p['ratio'])}"
        + ("" if quick else f"; against the plain per-perturbation loop {fmt_ratio(q['ratio'])}")
    )
    say("  per n: " + ", ".join(f"{n}: {fmt_ratio(v['ratio'])} ({v['path']})" for n, v in out["by_n"].items()))
    return out


# ---------------------------------------------------------------------------------------------------
# The cube


def trained_model(n: int = 16):
    """A trained cpu-scale model at length ``n`` from the committed results (else trained here, briefly)."""
    from replication.runs.encoder.sweep import KIND, PRESETS, run_configs
    from replication.runs.store import Store
    from replication.runs.sweep import load_results

    runs = [
        r for r in run_configs(dataclasses.replace(PRESETS["cpu"], functions=("majority",))) if r.n == n and r.seed == 0
    ]
    if runs:
        stored = load_results(KIND, runs, cache=Store(mode_="auto", scale="cpu"), device="cpu")[0]
        if stored is not None and "state_dict" in stored:
            m = HR24Encoder(runs[0].train_config().encoder)
            m.load_state_dict(stored["state_dict"])
            return m.eval(), f"committed cpu run majority n={n} seed 0 (eval MSE {stored['eval_mse']:.2g})"
    from replication.train import TrainConfig, train

    res = train(TrainConfig(function="majority", n=n, d=32, batch_size=128, steps=300, lr=3e-3), progress=False)
    return res.model.eval(), f"majority n={n}, trained here for 300 steps"


def bench_cube(quick: bool, n: int = 16) -> dict:
    model, origin = trained_model(n)
    repeats = setting("repeats", quick)
    k = setting("cube_flip_strings", quick)
    with single_thread():
        # ours: sensitivity.model_average_sensitivity (table, then sensitivity_from_table), per string for the check
        p = paired(
            lambda: sensitivity.sensitivity_from_table(sensitivity.model_table(model, n)),
            lambda: reference.flip_sensitivity(model, n, stop=k),
            repeats,
        )
    fast, per_string = p["values"]["ours"], p["values"]["ref"]
    rel = float(((fast[:k] - per_string).abs() / per_string.abs().clamp_min(1e-12)).max())
    c = check("cube", rel < 1e-4, f"per-string sensitivity of the first {k} strings agrees to {rel:.1e} relative")
    p["values"]["ours"] = float(fast.mean())
    ours_rate, ref_rate = 2**n / p["ours_s"]["median"], k / p["ref_s"]["median"]
    out = {
        "n": n,
        "model": origin,
        "batch": sensitivity.cube_batch(n, model),
        "as_n": p["values"]["ours"],
        "inputs_per_s": ours_rate,
        "seconds": p["ours_s"],
        "ref_inputs_per_s": ref_rate,
        "ratio": ours_rate / ref_rate,
        "ref_strings_timed": k,
        "check": c,
    }
    say(
        f"  n={n}, {origin}: exact as_n = {out['as_n']:.4f} over 2^{n} strings in {fmt_s(p['ours_s'])} "
        f"(batches of {out['batch']}): {ours_rate:.3g} inputs/s; each string with its {n} neighbours: "
        f"{ref_rate:.3g} inputs/s (timed on {k} strings); ratio {out['ratio']:.1f}x"
    )
    return out


# ---------------------------------------------------------------------------------------------------
# The sweep runner, and chapter 05's sweep


def sweep_once(runs, measure, kind, **kw) -> tuple[float, pd.DataFrame]:  # noqa: F821
    from replication.runs.sweep import run_sweep

    with tempfile.TemporaryDirectory(prefix="replication-bench-") as tmp:
        t = time.perf_counter()
        df = run_sweep(runs, measure, kind, cache=Cache(tmp), progress=False, **kw)
        return time.perf_counter() - t, df


def same_frames(a, b, cols, rtol: float = 2e-5) -> tuple[bool, str]:
    diffs = {
        c: float(
            np.max(
                np.abs(a[c].to_numpy(float) - b[c].to_numpy(float)) / np.maximum(np.abs(b[c].to_numpy(float)), 1e-12)
            )
        )
        for c in cols
    }
    return max(diffs.values()) < rtol, ", ".join(f"{c} {v:.1e}" for c, v in diffs.items())


def _spin(reps: int, size: int = 256) -> float:
    """Fixed CPU work on one torch thread (the parallel ceiling's unit of work)."""
    torch.set_num_threads(1)
    a = torch.randn(size, size, generator=torch.Generator().manual_seed(0))
    for _ in range(reps):
        a = torch.tanh(a @ a)
    return float(a.sum())


def _start_worker() -> float:
    """First task of a loky worker: import what the sweeps run, so that later timings leave it out."""
    import replication.runs.encoder.sweep  # noqa: F401

    return _spin(1)


def parallel_ceiling(repeats: int, reps: int) -> dict:
    """What 2 worker processes can gain here: two units of fixed work in 2 loky workers against the same two
    units one after another in this process (1 thread each). The first call starts the workers (timed)."""
    from joblib import Parallel, delayed

    t = time.perf_counter()  # starting the workers, with the package imported there
    Parallel(n_jobs=2, backend="loky")(delayed(_start_worker)() for _ in range(2))
    cold = time.perf_counter() - t

    def par():
        return Parallel(n_jobs=2, backend="loky")(delayed(_spin)(reps) for _ in range(2))

    def seq():
        with single_thread():
            return [_spin(reps) for _ in range(2)]

    p = paired(par, seq, repeats)
    say(
        f"  parallel ceiling: 2 workers do 2 units of fixed single-thread work {fmt_ratio(p['ratio'])} faster than "
        f"one process (load average {os.getloadavg()[0]:.2f}; workers started in {cold:.1f} s)"
    )
    return {"ratio": p["ratio"], "cold_start_s": cold}


def warm_workers() -> float:
    """Have the loky workers import the package and run a tiny sweep once; returns the seconds it took."""
    from replication.runs.encoder.sweep import KIND, SweepConfig, measure_run, run_configs

    runs = run_configs(SweepConfig.from_params(scale="ci", seeds=1))[:2]
    t, _ = sweep_once([dataclasses.replace(r, steps=1) for r in runs], measure_run, KIND, n_jobs=2)
    return t


def bench_sweep(quick: bool) -> dict:
    from replication.runs.encoder.sweep import KIND, SweepConfig, measure_run, run_configs

    repeats = setting("repeats", quick)
    ceiling = parallel_ceiling(repeats, setting("ceiling_reps", quick))
    steps = setting("sweep_steps", quick)
    runs = [
        dataclasses.replace(r, steps=steps)
        for r in run_configs(SweepConfig.from_params(scale="ci", seeds=4))[: setting("sweep_runs", quick)]
    ]
    cold = warm_workers()
    cols = ["eval_mse", "sharpness", "delta_mse_sharpness", "param_norm", "blowup", "model_as"]
    frames: dict = {}

    def go(name):
        t, frames[name] = sweep_once(runs, measure_run, KIND, n_jobs=2 if name == "joblib" else 1)
        return t

    p = paired(lambda: go("joblib"), lambda: go("seq"), repeats)
    ok, detail = same_frames(frames["joblib"], frames["seq"], cols)
    c = check("sweep", ok, f"largest relative difference per column: {detail}")
    out = {
        "runs": len(runs),
        "run": f"ci-scale encoder runs (measure_run), {steps} steps",
        "workers": 2,
        "cold_start_s": ceiling["cold_start_s"] + cold,
        "parallel_ceiling": ceiling["ratio"],
        "joblib_runs_per_s": len(runs) / p["ours_s"]["median"],
        "sequential_runs_per_s": len(runs) / p["ref_s"]["median"],
        "ratio": p["ratio"],
        "check": c,
    }
    say(
        f"  {len(runs)} ci-scale runs of {steps} steps: 2 loky workers {out['joblib_runs_per_s']:.2f} runs/s, one "
        f"process {out['sequential_runs_per_s']:.2f} runs/s, ratio {fmt_ratio(p['ratio'])} (workers started and "
        f"warmed beforehand in {out['cold_start_s']:.1f} s)"
    )
    if setting("dask", quick):
        out["dask"] = bench_dask(runs, frames["seq"], cols, repeats)
    return out


def bench_dask(runs, local, cols, repeats) -> dict:
    from cluster import cli_cluster
    from replication.runs.encoder.sweep import KIND, measure_run

    t0 = time.perf_counter()
    times = []
    with cli_cluster(workers=2, env={"REPLICATION_RESULTS": "off"}) as address:
        start = time.perf_counter() - t0
        sweep_once(runs[:2], measure_run, KIND, scheduler=address)  # workers import the package
        for _ in range(repeats):
            t, df = sweep_once(runs, measure_run, KIND, scheduler=address)
            times.append(t)
    ok, detail = same_frames(df, local, cols)
    c = check("dask", ok, detail)
    rate = len(runs) / statistics.median(times)
    say(
        f"  the same runs through a dask scheduler + 2 workers (command-line tools, loopback): {rate:.2f} runs/s "
        f"[{len(runs) / max(times):.2f}-{len(runs) / min(times):.2f}] (cluster up in {start:.1f} s)"
    )
    return {"runs_per_s": rate, "seconds": stats(times), "startup_s": start, "check": c}


def chapter05_sample(quick: bool):
    """A fixed sample of chapter 05's cpu sweep: one run per length (functions in turn, seed 0), shortened."""
    from replication.runs.encoder.sweep import PRESETS, run_configs

    cfg = PRESETS["cpu"]
    steps, k = setting("chapter05_steps", quick), setting("chapter05_runs", quick)
    ns = cfg.ns if not quick else (6, 10)
    chosen = []
    for i, n in enumerate(ns[:k]):
        f = cfg.functions[i % len(cfg.functions)]
        run = next(r for r in run_configs(cfg) if r.function == f and r.n == n and r.seed == 0)
        chosen.append(dataclasses.replace(run, steps=steps))
    return cfg, chosen


def bench_chapter05(quick: bool) -> dict:
    from replication.runs.encoder.sweep import KIND, measure_run

    cfg, runs = chapter05_sample(quick)
    repeats = setting("chapter05_repeats", quick)
    frames: dict = {}

    def ours(n_jobs):
        def go():
            _, frames[n_jobs] = sweep_once(runs, measure_run, KIND, n_jobs=n_jobs)

        return go

    def original_way():
        with single_thread():
            frames["ref"] = [reference.reference_measure(r) for r in runs]

    warm_workers()
    sides = {"ours": ours(cfg.n_jobs), "ours_one_process": ours(1), "ref": original_way}
    if quick:  # the split into per-run speed and workers only in the full run
        del sides["ours_one_process"]
    t = timed(sides, repeats)
    import pandas as pd

    ref_df = pd.DataFrame(frames["ref"])
    # Two implementations trained for hundreds of steps: float32 rounding differences grow along training
    # (tests/core/measures/test_fast_paths.py checks the same run measured with identical training: equal numbers).
    ok, detail = same_frames(
        frames[cfg.n_jobs],
        ref_df,
        ["eval_mse", "sharpness", "sharpness_se", "param_norm", "blowup", "model_as"],
        rtol=1e-2,
    )
    c = check("chapter 05", ok, f"largest relative difference after {runs[0].steps} training steps: {detail}")
    ratio = stats([b / a for a, b in zip(t["ours"], t["ref"])])
    nan = {"median": float("nan"), "min": float("nan"), "max": float("nan"), "repeats": 0}
    one_process = t.get("ours_one_process")
    per_run = stats([b / a for a, b in zip(one_process, t["ref"])]) if one_process else nan
    parallel = stats([b / a for a, b in zip(t["ours"], one_process)]) if one_process else nan
    per_min = lambda ts: 60 * len(runs) / statistics.median(ts) if ts else float("nan")  # noqa: E731
    one = frames.get(1, frames[cfg.n_jobs])
    split = {
        "ours_train_s": float(one["train_seconds"].sum()),
        "ours_measure_s": float(one["measure_seconds"].sum()),
        "ref_train_s": float(ref_df["train_seconds"].sum()),
        "ref_measure_s": float(ref_df["measure_seconds"].sum()),
    }
    out = {
        "runs": [f"{r.function} n={r.n}" for r in runs],
        "steps": runs[0].steps,
        "n_jobs": cfg.n_jobs,
        "n_perturbations": runs[0].n_perturbations,
        "n_inputs": runs[0].n_inputs,
        "ours_runs_per_min": per_min(t["ours"]),
        "ours_one_process_runs_per_min": per_min(one_process),
        "ref_runs_per_min": per_min(t["ref"]),
        "ratio": ratio,
        "ratio_one_process": per_run,
        "parallel_gain": parallel,
        "last_repeat_seconds": split,
        "check": c,
    }
    say(
        f"  {len(runs)} runs of the cpu sweep ({', '.join(out['runs'])}) at {out['steps']} steps: "
        f"{out['ours_runs_per_min']:.1f} runs/min through the sweep runner ({cfg.n_jobs} workers), "
        f"{out['ref_runs_per_min']:.1f} the original code's way: ratio {fmt_ratio(ratio)}"
    )
    if one_process:
        say(
            f"  = per run {fmt_ratio(per_run)} ({out['ours_one_process_runs_per_min']:.1f} runs/min in one process) "
            f"x workers {fmt_ratio(parallel)}; one repeat in one process, summed over the runs: training "
            f"{split['ours_train_s']:.1f} s vs {split['ref_train_s']:.1f} s (nn.TransformerEncoder), measuring "
            f"{split['ours_measure_s']:.1f} s vs {split['ref_measure_s']:.1f} s (copy-and-perturb)"
        )
    return out


# ---------------------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: the whole suite in under a minute")
    ap.add_argument("--json", action="store_true", help="print one JSON object (every figure) as the last line")
    ap.add_argument("--only", default="", help=f"comma-separated sections of {','.join(SECTIONS)}")
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s] or list(SECTIONS)
    bad = sorted(set(only) - set(SECTIONS))
    if bad:
        ap.error(f"--only: unknown section(s) {bad}; allowed: {', '.join(SECTIONS)}")
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    env = {
        "machine": machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "mode": "quick" if args.quick else "full",
        "load_average_start": load0[0],
    }
    say(
        f"machine: {env['machine']}; torch {env['torch']} ({env['torch_threads']} threads; the timed paths "
        f"run on 1 thread each, as in the book); load average {load0[0]:.2f} at the start"
    )
    results: dict = {"env": env}
    for name in only:
        say(f"== {name}")
        t = time.perf_counter()
        results[name] = globals()[f"bench_{name}"](args.quick)
        results[name]["section_seconds"] = time.perf_counter() - t
    env["load_average_end"] = os.getloadavg()[0]
    env["seconds"] = time.perf_counter() - t0
    say(f"done in {env['seconds']:.0f} s; load average {env['load_average_end']:.2f} at the end")
    summary = headline(results)
    for k, v in summary.items():
        if k != "env":
            say(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    if args.json:
        print(json.dumps(_plain({**summary, "details": results}), allow_nan=False))
    return results


def headline(r: dict) -> dict:
    """The figures the README and the JSON line lead with (NaN where a section did not run)."""
    nan = float("nan")
    g = lambda *path: _get(r, path, nan)  # noqa: E731
    cpu_ratio, paper_ratio = g("train", "cpu", "ratio", "median"), g("train", "paper", "ratio", "median")
    return {
        "train_step_ratio": min(cpu_ratio, paper_ratio)
        if not (math.isnan(cpu_ratio) or math.isnan(paper_ratio))
        else nan,
        "train_step_ratio_cpu": cpu_ratio,
        "train_step_ratio_paper": paper_ratio,
        "sharpness_ratio": g("sharpness", "ratio", "median"),
        "sweep_ratio": g("sweep", "ratio", "median"),
        "parallel_ceiling": g("sweep", "parallel_ceiling", "median"),
        "sweep_efficiency": g("sweep", "ratio", "median") / g("sweep", "parallel_ceiling", "median"),
        "dask_runs_per_s": g("sweep", "dask", "runs_per_s"),
        "joblib_runs_per_s": g("sweep", "joblib_runs_per_s"),
        "cube_inputs_per_s": g("cube", "inputs_per_s"),
        "cube_ratio": g("cube", "ratio"),
        "peak_fraction": g("train", "paper", "peak_fraction"),
        "peak_fraction_cpu": g("train", "cpu", "peak_fraction"),
        "largest_cost": g("train", "profile", "largest"),
        "chapter05_sweep_ratio": g("chapter05", "ratio", "median"),
        "chapter05_ratio_one_process": g("chapter05", "ratio_one_process", "median"),
        "batched_seeds_ratio": g("batched_seeds", "sweep_weighted_ratio"),
        "env": r["env"],
    }


def _plain(obj):
    """``obj`` with NaN as ``null`` and keys as strings, for strict JSON."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _get(d, path, default):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


if __name__ == "__main__":
    main()
