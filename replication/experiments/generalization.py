"""Chapter 07: the limits of generalization on random functions (HR24 §7.2, Fig. 4 and 15).

Two stages, each a sweep of runs stored on its own (:func:`replication.runs.sweep.run_sweep`):

1. **T1 runs** (:class:`FitRun`, :func:`measure_fit`): a uniformly random Boolean function ``f`` on
   ``{0,1}^n`` (a truth table fixed by its seed), a training set of ``size`` strings drawn from the
   ``2^n`` inputs, and an :class:`~replication.models.encoder.HR24Encoder` trained on it with MSE until it *fits*
   it (:func:`fit_strings`). The learned function ``T1`` is read off on the whole cube (output > 1/2 → 1)
   and its exact average sensitivity computed from the truth table (:mod:`replication.tasks.boolean`).
2. **Refits** (:class:`RefitRun`, :func:`measure_refit`): fresh models fitted on the whole cube to ``T1``
   and to ``f``. The target's truth table is part of the run's config (as hex), so a refit is keyed by
   exactly what it fits; refits to ``f`` do not depend on a training set and are shared by all the
   training sets of their function.

Every model's Eq. 15 sharpness (×4, Gaussian ρ = 0.02, all parameters but the positional embeddings) is
measured on the whole cube and on training sets, with the same perturbations (same seed): the mean over a
subset of the same per-input squared deviations.

**Fits.** A model fits a set of strings when every one of them is on the right side of 1/2 and the MSE
on them is below ``fit_mse``, checked every ``eval_every`` steps; training stops at the first check that
passes (or at ``max_steps``, and the run is then marked not fitted and left out, counted). The same rule
serves the T1 runs and both kinds of refit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats

from ..tasks import boolean
from ..measures import sensitivity
from ..report.claims import ALPHA, Claim, fmt
from ..checks import check_float, check_int
from ..runs.config import from_params
from ..measures.norms import parameter_norm
from ..measures.sharpness import sharpness
from ..models.encoder import EncoderConfig, HR24Encoder
from ..runs.store import Store
from ..runs.chapters import chapter, kind
from ..runs.sweep import load_results, run_sweep
from ..train import fit

KIND_FIT = kind("generalization_fit", __name__)
KIND_REFIT = kind("generalization_refit", __name__)
CHAPTER = chapter(__name__).stem
#: Input lengths the chapter accepts (HR24 use n = 10; the whole cube is enumerated).
MIN_N, MAX_N = 4, 12
TARGETS = ("T1", "f")


# --------------------------------------------------------------------------------------------------
# Truth tables, training sets


def random_table(n: int, function: int) -> torch.Tensor:
    """The truth table of random function number ``function`` on ``n`` bits, ``(2^n,)`` float64 in {0, 1}.

    The table of :func:`replication.tasks.boolean.random_function` with that seed, in
    :func:`~replication.tasks.boolean.all_strings` order.
    """
    return boolean.random_table(n, seed=function)


def table_to_hex(table) -> str:
    """A {0,1} truth table as a hex string (4 strings per digit, first string in the high bit)."""
    bits = np.asarray(table, dtype=np.float64).round().astype(np.uint8)
    if not np.isin(bits, (0, 1)).all() or len(bits) % 4:
        raise ValueError("table: must hold 0/1 values, a multiple of 4 of them")
    return "".join(f"{int(''.join(map(str, q)), 2):x}" for q in bits.reshape(-1, 4))


def hex_to_table(hexstr: str) -> torch.Tensor:
    """The inverse of :func:`table_to_hex`, ``(4 len(hexstr),)`` float64."""
    return torch.tensor([int(b) for c in hexstr for b in f"{int(c, 16):04b}"], dtype=torch.float64)


def train_indices(n: int, size: int, function: int, train_set: int) -> torch.Tensor:
    """Indices (into :func:`~replication.tasks.boolean.all_strings`) of training set ``train_set`` of ``size``
    strings for random function ``function``: a uniform sample without replacement, sorted."""
    g = torch.Generator().manual_seed(1_000_003 * (function + 1) + 7_919 * size + 101 * train_set + n)
    return torch.randperm(2**n, generator=g)[:size].sort().values


def read_off(model, n: int) -> torch.Tensor:
    """The Boolean function a trained model computes on every string: ``T(x) > 1/2``, ``(2^n,)`` float64."""
    return (sensitivity.model_table(model, n) > 0.5).to(torch.float64)


# --------------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class Training:
    """The settings every fit of chapter 07 shares (the fields :class:`FitRun` and :class:`RefitRun` add
    say what is fitted)."""

    n: int  # input length
    d: int  # model width
    layers: int  # encoder layers
    heads: int  # attention heads
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay
    batch_size: int  # strings per step; a set no larger than this is trained full batch
    max_steps: int  # step budget: a model that has not fitted by then is marked not fitted
    eval_every: int  # steps between fit checks
    fit_mse: float  # fits: every string on the right side of 1/2 and MSE below this
    rho: float  # sharpness: std of the Gaussian perturbations
    n_perturbations: int  # sharpness: perturbations

    def __post_init__(self):
        check_int("n", self.n, MIN_N, MAX_N)
        EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads)  # checks the shape
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_int("batch_size", self.batch_size, 1)
        check_int("max_steps", self.max_steps, 1, 10**6)
        check_int("eval_every", self.eval_every, 1)
        check_float("fit_mse", self.fit_mse, 0.0, 0.25, lo_open=True)
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        check_int("n_perturbations", self.n_perturbations, 1)


@dataclass(frozen=True)
class FitRun(Training):
    """One T1 run: the cache key of :func:`measure_fit` (with the fields of :class:`Training`)."""

    function: int  # random function f: the seed of its truth table
    size: int  # strings in the training set
    train_set: int  # which training set of this size (its sample seed); also the model's init seed

    def __post_init__(self):
        super().__post_init__()
        check_int("function", self.function, 0)
        check_int("train_sizes", self.size, 1, 2**self.n - 1)
        check_int("train_set", self.train_set, 0)


@dataclass(frozen=True)
class RefitRun(Training):
    """One fresh model fitted on the whole cube to ``T1`` or ``f``: the cache key of :func:`measure_refit`
    (with the fields of :class:`Training`; its ``batch_size`` is strings per step out of the cube's 2^n)."""

    target: str  # "T1" (a learned function) or "f" (the random function itself)
    function: int  # the random function f behind the target
    size: int | None  # T1: size of the training set it was learnt from (None for f)
    train_set: int | None  # T1: which training set (None for f)
    table: str  # the target's truth table (hex, :func:`table_to_hex`): what is fitted
    sets: tuple[tuple[int, int], ...]  # (size, train_set) of the training sets to measure sharpness on
    seed: int  # initialisation and batch seed of this model

    def __post_init__(self):
        super().__post_init__()
        if self.target not in TARGETS:
            raise ValueError(f"target: must be one of {list(TARGETS)}, got {self.target!r}")
        if len(self.table) * 4 != 2**self.n:
            raise ValueError(f"table: must have {2**self.n // 4} hex digits for n = {self.n}, got {len(self.table)}")
        for size, train_set in self.sets:
            check_int("train_sizes", size, 1, 2**self.n - 1)
            check_int("train_set", train_set, 0)
        check_int("seed", self.seed, 0)


# --------------------------------------------------------------------------------------------------
# Fitting a set of strings, and measuring a model


def fit_strings(run, x: torch.Tensor, y: torch.Tensor, seed: int, device: str = "cpu") -> tuple[HR24Encoder, dict]:
    """Train a fresh encoder on the strings ``x`` ``(N, n)`` with targets ``y`` ``(N,)`` until it fits them.

    MSE, AdamW with ``run``'s settings; batches of ``run.batch_size`` strings drawn as shuffled epochs
    (the whole set every step when it is no larger). Every ``run.eval_every`` steps the model is checked on
    all of ``x``: it *fits* when every output is on the right side of 1/2 and the MSE is below
    ``run.fit_mse``, and training stops there. Returns the model (eval mode) and a summary.
    """
    x, y = x.to(device), y.to(device=device, dtype=torch.float32)
    torch.manual_seed(seed)
    model = HR24Encoder(EncoderConfig(n=run.n, d=run.d, layers=run.layers, heads=run.heads)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)
    g = torch.Generator().manual_seed(2_000_003 * (seed + 1))
    full = run.batch_size >= len(x)
    order: list[torch.Tensor] = []

    def batches():
        if full:
            return x, y
        if not order or len(order[0]) < run.batch_size:
            order[:] = [torch.randperm(len(x), generator=g).to(device)]
        idx, order[0] = order[0][: run.batch_size], order[0][run.batch_size :]
        return x[idx], y[idx]

    @torch.no_grad()
    def evaluate(step, m) -> dict:
        out = m(x)
        return {"mse": float(F.mse_loss(out, y)), "acc": float(((out > 0.5).float() == y).float().mean())}

    def stop(row) -> str | None:
        return "fits" if row["step"] > 0 and row["acc"] == 1.0 and row["mse"] < run.fit_mse else None

    res = fit(model, batches, lambda m, b: F.mse_loss(m(b[0]), b[1]), opt, run.max_steps,
              eval_every=run.eval_every, evaluate=evaluate, stop=stop, progress=False)  # fmt: skip
    last = res.history[-1]
    return model.eval(), {
        "fitted": res.stopped_reason == "fits", "steps_run": res.steps_run, "fit_mse_reached": last["mse"],
        "fit_acc": last["acc"], "failed": res.failed, "train_seconds": res.seconds,
    }  # fmt: skip


def _sharpness_on(model, run, cube: torch.Tensor, sets: list[torch.Tensor]) -> dict:
    """Eq. 15 sharpness ×4 on the whole cube and on each index set, the same perturbations for all."""
    kw = {"rho": run.rho, "n_perturbations": run.n_perturbations, "seed": 0}
    cube_val, per = sharpness(model, cube, return_all=True, **kw)
    return {
        "sharpness_cube": cube_val,
        "sharpness_cube_se": float(per.std(ddof=1) / np.sqrt(len(per))) if len(per) > 1 else float("nan"),
        "sharpness_sets": [sharpness(model, cube[idx], **kw) for idx in sets],
    }


def measure_fit(run: FitRun, device: str = "cpu") -> dict:
    """Train on the training set until it fits, read ``T1`` off the cube, measure (see the module docstring)."""
    cube = sensitivity.cube_strings(run.n, 0, 2**run.n, device)
    f = random_table(run.n, run.function)
    idx = train_indices(run.n, run.size, run.function, run.train_set)
    model, summary = fit_strings(run, cube[idx], f[idx], seed=run.train_set, device=device)
    t1 = read_off(model, run.n)
    held = torch.ones(2**run.n, dtype=torch.bool)
    held[idx] = False
    sh = _sharpness_on(model, run, cube, [idx.to(device)])
    return {
        **summary,
        "as_f": sensitivity.average_sensitivity(f),
        "as_T1": sensitivity.average_sensitivity(t1),
        "train_agreement": float((t1[idx] == f[idx]).double().mean()),
        "held_out_agreement": float((t1[held] == f[held]).double().mean()),
        "ones_T1": float(t1.mean()),
        "sharpness_cube": sh["sharpness_cube"],
        "sharpness_cube_se": sh["sharpness_cube_se"],
        "sharpness_train": sh["sharpness_sets"][0],
        "param_norm": parameter_norm(model),
        "table_T1": table_to_hex(t1),
    }


def measure_refit(run: RefitRun, device: str = "cpu") -> dict:
    """Fit a fresh model to ``run.table`` on the whole cube, then measure its sharpness on the cube and sets."""
    cube = sensitivity.cube_strings(run.n, 0, 2**run.n, device)
    target = hex_to_table(run.table)
    model, summary = fit_strings(run, cube, target, seed=run.seed, device=device)
    sets = [train_indices(run.n, size, run.function, s).to(device) for size, s in run.sets]
    return {
        **summary,
        "as_target": sensitivity.average_sensitivity(target),
        "as_model": sensitivity.average_sensitivity(read_off(model, run.n)),
        **_sharpness_on(model, run, cube, sets),
        "param_norm": parameter_norm(model),
    }


# --------------------------------------------------------------------------------------------------
# The chapter's config


@dataclass(frozen=True)
class GeneralizationConfig:
    """Settings of chapter 07 (HR24 §7.2, Fig. 4 and 15)."""

    scale: str  # ci | cpu | paper
    n: int = 10  # input length: the cube has 2^n strings (HR24: 10)
    train_sizes: tuple[int, ...] = (128, 256, 512)  # training-set sizes (each below 2^n)
    functions: int = 10  # random functions f (seeds 0..functions-1)
    train_sets: int = 10  # training sets per (f, size)
    seeds: int = 5  # fresh models fitted on the cube per target (each T1, and f)
    refit_sets: int = 10  # training sets per (f, size) whose T1 is refitted (the first ones, at most train_sets)
    refit_functions: int = 10  # random functions whose T1 and f are refitted (the first ones, at most functions)
    d: int = 128  # model width (HR24 App. E.1)
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    lr: float = 3e-4  # AdamW learning rate
    weight_decay: float = 0.1  # AdamW weight decay
    batch_size: int = 1024  # strings per step (full batch on the cube at n = 10)
    max_steps: int = 20_000  # step budget of a T1 run (stops earlier when it fits)
    refit_max_steps: int = 20_000  # step budget of a refit
    eval_every: int = 50  # steps between fit checks
    fit_mse: float = 0.01  # fits: every string on the right side of 1/2 and MSE below this
    rho: float = 0.02  # sharpness: std of the Gaussian perturbations (HR24 §7.1)
    n_perturbations: int = 20  # sharpness: perturbations
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        if self.scale not in ("ci", "cpu", "paper"):
            raise ValueError(f"scale: must be one of ['ci', 'cpu', 'paper'], got {self.scale!r}")
        check_int("n", self.n, MIN_N, MAX_N)
        sizes = self.train_sizes if isinstance(self.train_sizes, tuple) else (self.train_sizes,)
        if not sizes or len(set(sizes)) != len(sizes):
            raise ValueError(f"train_sizes: must be a non-empty list of distinct sizes, got {self.train_sizes!r}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int) or not 2 <= s < 2**self.n:
                raise ValueError(f"train_sizes: each size must be an integer in [2, {2**self.n - 1}] (the cube "
                                 f"has 2^{self.n} = {2**self.n} strings), got {s!r}")  # fmt: skip
        check_int("functions", self.functions, 1, 1000)
        check_int("train_sets", self.train_sets, 1, 1000)
        check_int("seeds", self.seeds, 1, 100)
        check_int("refit_sets", self.refit_sets, 1, 1000)
        check_int("refit_functions", self.refit_functions, 1, 1000)
        check_int("refit_max_steps", self.refit_max_steps, 1, 10**6)
        check_int("n_jobs", self.n_jobs, 1, 256)
        fit_runs(self)[0]  # builds (and so checks) a run
        RefitRun(n=self.n, target="f", function=0, size=None, train_set=None, table="0" * (2**self.n // 4),
                 sets=(), seed=0, **self._training(self.refit_max_steps))  # fmt: skip

    def _training(self, max_steps: int) -> dict:
        return {"d": self.d, "layers": self.layers, "heads": self.heads, "lr": self.lr,
                "weight_decay": self.weight_decay, "batch_size": self.batch_size, "max_steps": max_steps,
                "eval_every": self.eval_every, "fit_mse": self.fit_mse, "rho": self.rho,
                "n_perturbations": self.n_perturbations}  # fmt: skip

    @property
    def sets(self) -> tuple[tuple[int, int], ...]:
        """Every (size, train_set) pair of one function."""
        return tuple((size, s) for size in self.train_sizes for s in range(self.train_sets))

    @classmethod
    def from_params(cls, scale=None, train_sizes=None, functions=None, train_sets=None, seeds=None):
        """The preset of ``scale`` with a notebook's parameters (None: the preset's), checked before any work.

        Args:
            scale: "ci", "cpu", "paper", or None ($REPLICATION_SCALE, else "cpu").
            train_sizes: training-set sizes, each an integer below 2^n (1024 at n = 10).
            functions: number of random functions f, >= 1.
            train_sets: training sets per (f, size), >= 1.
            seeds: fresh models fitted on the whole cube per target, >= 1.
        """
        return from_params(cls, PRESETS, scale=scale, train_sizes=train_sizes, functions=functions,
                           train_sets=train_sets, seeds=seeds)  # fmt: skip


def fit_runs(cfg: GeneralizationConfig) -> list[FitRun]:
    """Every T1 run: (function, size, training set)."""
    return [FitRun(n=cfg.n, function=fn, size=size, train_set=s, **cfg._training(cfg.max_steps))
            for fn in range(cfg.functions) for size, s in cfg.sets]  # fmt: skip


def refit_runs(cfg: GeneralizationConfig, t1: pd.DataFrame) -> list[RefitRun]:
    """Refits for the first ``cfg.refit_functions`` functions: to the fitted T1 of ``t1``
    (:func:`learned_functions`) learnt from the first ``cfg.refit_sets`` training sets of each size, and to f;
    ``cfg.seeds`` models each. A fit to f is measured on every training set of its function.

    Refit seeds start at 1000, away from the T1 models' initialisation seeds (their training-set numbers).
    """
    train = cfg._training(cfg.refit_max_steps)
    runs = []
    for fn in range(min(cfg.functions, cfg.refit_functions)):
        for r in t1[(t1["function"] == fn) & t1["fitted"] & (t1["train_set"] < cfg.refit_sets)].itertuples():
            runs += [RefitRun(n=cfg.n, target="T1", function=fn, size=r.size, train_set=r.train_set,
                              table=r.table_T1, sets=((r.size, r.train_set),), seed=1000 + k, **train)
                     for k in range(cfg.seeds)]  # fmt: skip
        f_hex = table_to_hex(random_table(cfg.n, fn))
        runs += [RefitRun(n=cfg.n, target="f", function=fn, size=None, train_set=None, table=f_hex, sets=cfg.sets,
                          seed=1000 + k, **train) for k in range(cfg.seeds)]  # fmt: skip
    return runs


PRESETS = {
    # Seconds: n = 5, a tiny model, small budgets. The claims are computed but are not expected to hold.
    "ci": GeneralizationConfig(scale="ci", n=5, train_sizes=(8, 16), functions=2, train_sets=1, seeds=1,
                               refit_sets=1, d=8, lr=1e-2, batch_size=64, max_steps=100, refit_max_steps=100,
                               eval_every=20, n_perturbations=4, n_jobs=1),  # fmt: skip
    # A 2-core laptop: the chapter's settings table gives the measurements behind each choice.
    "cpu": GeneralizationConfig(scale="cpu", functions=4, train_sets=2, seeds=1, refit_sets=1, refit_functions=3,
                                d=32, lr=3e-3, max_steps=4000, refit_max_steps=6000),  # fmt: skip
    # HR24 §7.2 (10 functions × 10 training sets × 3 sizes, 5 refits each) with App. E.1's model.
    "paper": GeneralizationConfig(scale="paper"),
}


# --------------------------------------------------------------------------------------------------
# Running the sweeps


def learned_functions(cfg: GeneralizationConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Stage 1: one row per T1 run (function, size, training set) with ``as_T1``, ``as_f`` and sharpness."""
    return run_sweep(fit_runs(cfg), measure_fit, KIND_FIT, cache=cache, n_jobs=cfg.n_jobs, progress=progress)


def refits(cfg: GeneralizationConfig, t1: pd.DataFrame, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Stage 2: one row per model fitted on the whole cube, to a T1 of ``t1`` or to an f."""
    runs = refit_runs(cfg, t1)
    df = run_sweep(runs, measure_refit, KIND_REFIT, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    full = load_results(KIND_REFIT, runs, cache)
    df["sharpness_sets"] = [r["sharpness_sets"] for r in full]
    return df.drop(columns=["table"])


def train_vs_cube(t1: pd.DataFrame, refit: pd.DataFrame) -> pd.DataFrame:
    """Sharpness on a training set against sharpness on the whole cube, one row per (model, training set).

    ``model`` is ``T1 model`` (trained on that set), ``fit to T1`` or ``fit to f`` (fitted on the cube;
    a fit to f is measured on every training set of its function).
    """
    rows = [{"model": "T1 model", "function": r.function, "size": r.size, "train_set": r.train_set,
             "seed": r.train_set, "sharpness_train": r.sharpness_train, "sharpness_cube": r.sharpness_cube}
            for r in t1[t1["fitted"]].itertuples()]  # fmt: skip
    for r in refit[refit["fitted"]].itertuples():
        for (size, s), val in zip(r.sets, r.sharpness_sets):
            rows.append({"model": f"fit to {r.target}", "function": r.function, "size": size, "train_set": s,
                         "seed": r.seed, "sharpness_train": val, "sharpness_cube": r.sharpness_cube})  # fmt: skip
    out = pd.DataFrame(rows, columns=["model", "function", "size", "train_set", "seed", "sharpness_train",
                                      "sharpness_cube"])  # fmt: skip
    out["ratio"] = out["sharpness_train"] / out["sharpness_cube"]
    return out


# --------------------------------------------------------------------------------------------------
# Tables and claims


def bootstrap_ci(values, stat=np.mean, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval (95%) of ``stat`` over ``values``."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = [stat(v[rng.integers(0, len(v), len(v))]) for _ in range(reps)]
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def ratio_ci(a, b, reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``mean(a) / mean(b)`` and its percentile bootstrap interval (95%), ``a`` and ``b`` resampled apart."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    draws = [a[rng.integers(0, len(a), len(a))].mean() / b[rng.integers(0, len(b), len(b))].mean() for _ in range(reps)]
    return float(a.mean() / b.mean()), float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def sensitivity_summary(t1: pd.DataFrame) -> pd.DataFrame:
    """Per training-set size: runs, fitted runs, mean ``as_T1`` and ``as_f``, agreement with f off the set."""
    g = t1[t1["fitted"]].groupby("size")
    out = pd.DataFrame({
        "runs": t1.groupby("size").size(), "fitted": g.size(), "as_T1": g["as_T1"].mean(),
        "as_T1_sd": g["as_T1"].std(), "as_f": g["as_f"].mean(), "held_out_agreement": g["held_out_agreement"].mean(),
        "steps_to_fit": g["steps_run"].median(),
    })  # fmt: skip
    return out.round(3)


def sharpness_summary(refit: pd.DataFrame) -> pd.DataFrame:
    """Per target (and T1's training-set size): fitted models, median steps, mean and sd of cube sharpness."""
    r = refit.assign(group=[f"fit to T1 ({int(s)})" if t == "T1" else "fit to f"
                            for t, s in zip(refit["target"], refit["size"].fillna(0))])  # fmt: skip
    g = r[r["fitted"]].groupby("group")
    out = pd.DataFrame({"models": r.groupby("group").size(), "fitted": g.size(), "as_target": g["as_target"].mean(),
                        "steps_to_fit": g["steps_run"].median(), "sharpness_cube": g["sharpness_cube"].mean(),
                        "sharpness_sd": g["sharpness_cube"].std()})  # fmt: skip
    return out.round(4)


def _not_fitted(df: pd.DataFrame, what: str) -> str:
    k = int((~df["fitted"].astype(bool)).sum())
    return f"; {k} of {len(df)} {what} did not fit within the budget and are left out" if k else ""


def claims(cfg: GeneralizationConfig, t1: pd.DataFrame, refit: pd.DataFrame, tv: pd.DataFrame) -> list[Claim]:
    """Chapter 07's claims, each computed from the tables with the check stated in its note."""
    sc, out = cfg.scale, []
    ok = t1[t1["fitted"].astype(bool)]
    # 1. as(T1) < as(f), paired over T1 runs.
    diff = ok["as_T1"] - ok["as_f"]
    p1 = float(stats.wilcoxon(diff, alternative="less").pvalue) if len(ok) > 1 and diff.any() else float("nan")
    h1 = bool(len(ok) > 1 and diff.mean() < 0 and p1 < ALPHA)
    out.append(Claim(
        CHAPTER, "The function a transformer learns from part of a random f is less sensitive than f",
        "HR24 §7.2, Fig. 4", "as(T1) below as(f) ≈ n/2 at every training-set size",
        f"as(T1) {fmt(ok['as_T1'].mean())} vs as(f) {fmt(ok['as_f'].mean())} (mean over {len(ok)} runs; "
        f"lower in {int((diff < 0).sum())}); Wilcoxon p = {fmt(p1)}", h1, sc,
        f"check: one-sided Wilcoxon signed-rank test on as(T1) − as(f), paired by run, p < {ALPHA}"
        + _not_fitted(t1, "T1 runs") + ("" if h1 else "; fails at this scale"),
    ))  # fmt: skip
    # 2. smaller training sets -> lower as(T1).
    if ok["size"].nunique() > 1:
        rho, p2 = stats.spearmanr(ok["size"], ok["as_T1"], alternative="greater")
    else:
        rho, p2 = float("nan"), float("nan")
    h2 = bool(rho > 0 and p2 < ALPHA)
    means = ", ".join(f"{s}: {fmt(v)}" for s, v in ok.groupby("size")["as_T1"].mean().items())
    out.append(Claim(
        CHAPTER, "With a smaller training set the learned function is less sensitive still", "HR24 Fig. 4",
        "as(T1) rises with the training-set size (128 < 256 < 512)",
        f"mean as(T1) by size {means}; Spearman ρ = {fmt(rho)}, p = {fmt(p2)}", h2, sc,
        f"check: Spearman rank correlation of size and as(T1) over the T1 runs, one-sided p < {ALPHA}"
        + ("" if h2 else "; fails at this scale"),
    ))  # fmt: skip
    # 3. fits to T1 less sharp than fits to f (on the cube), and on the training sets.
    fitted = refit[refit["fitted"].astype(bool)]
    a, b = fitted.loc[fitted["target"] == "T1", "sharpness_cube"], fitted.loc[fitted["target"] == "f", "sharpness_cube"]
    if len(a) and len(b):
        p3 = float(stats.mannwhitneyu(a, b, alternative="less").pvalue)
        r3, lo3, hi3 = ratio_ci(a, b)
    else:
        p3 = r3 = lo3 = hi3 = float("nan")
    h3 = bool(p3 < ALPHA and hi3 < 1)
    out.append(Claim(
        CHAPTER, "Models fitted to the learned function T1 sit in flatter minima than models fitted to f",
        "HR24 §7.2, Fig. 4", "sharpness of fits to T1 below that of fits to f",
        f"mean sharpness {fmt(a.mean())} ({len(a)} fits to T1) vs {fmt(b.mean())} ({len(b)} fits to f); ratio "
        f"{fmt(r3)} [{fmt(lo3)}, {fmt(hi3)}]; Mann–Whitney p = {fmt(p3)}", h3, sc,
        f"check: one-sided Mann–Whitney U test on cube sharpness p < {ALPHA}, and the 95% bootstrap interval of "
        f"the ratio of means below 1" + _not_fitted(refit, "refits") + ("" if h3 else "; fails at this scale"),
    ))  # fmt: skip
    pairs = tv[tv["model"] != "T1 model"].groupby(["function", "size", "train_set", "model"])["sharpness_train"]
    wide = pairs.mean().unstack("model").dropna()
    if {"fit to T1", "fit to f"} <= set(wide.columns) and len(wide) > 1:
        d4 = np.log(wide["fit to T1"]) - np.log(wide["fit to f"])
        p4 = float(stats.wilcoxon(d4, alternative="less").pvalue)
        lower, gm = int((d4 < 0).sum()), float(np.exp(d4.mean()))
    else:
        p4, lower, gm, wide = float("nan"), 0, float("nan"), wide.iloc[:0]
    h4 = bool(p4 < ALPHA and gm < 1)
    out.append(Claim(
        CHAPTER, "The same holds when sharpness is measured on the training set only", "HR24 App., Fig. 15",
        "fits to T1 flatter than fits to f on the training set too",
        f"on {len(wide)} training sets: fit to T1 flatter on {lower}; geometric-mean ratio {fmt(gm)}; "
        f"Wilcoxon p = {fmt(p4)}", h4, sc,
        f"check: per training set, log sharpness of the fits to its T1 minus that of the fits to its f, both on "
        f"that set; one-sided Wilcoxon signed-rank p < {ALPHA}" + ("" if h4 else "; fails at this scale"),
    ))  # fmt: skip
    # 5. training-set sharpness agrees with cube sharpness (the refits, as in Fig. 15).
    cube_fits = tv[tv["model"] != "T1 model"]
    if len(cube_fits) > 2:
        gm5 = float(np.exp(np.log(cube_fits["ratio"]).mean()))
        lo5, hi5 = (float(np.exp(v)) for v in bootstrap_ci(np.log(cube_fits["ratio"])))
        r5, p5 = stats.spearmanr(cube_fits["sharpness_train"], cube_fits["sharpness_cube"])
    else:
        gm5 = lo5 = hi5 = r5 = p5 = float("nan")
    h5 = bool(AGREE[0] <= lo5 and hi5 <= AGREE[1] and r5 >= MIN_RANK_CORR and p5 < ALPHA)
    out.append(Claim(
        CHAPTER, "Sharpness measured on the training set is about the sharpness on the whole cube",
        "HR24 App., Fig. 15", "almost the same",
        f"train / cube ratio {fmt(gm5)} [{fmt(lo5)}, {fmt(hi5)}] (geometric mean, {len(cube_fits)} model × set "
        f"pairs); Spearman ρ = {fmt(r5)}, p = {fmt(p5)}", h5, sc,
        f"check, on the models fitted on the cube: the 95% bootstrap interval of the geometric-mean ratio inside "
        f"[{AGREE[0]}, {AGREE[1]}] and Spearman ρ ≥ {MIN_RANK_CORR} (p < {ALPHA})"
        + ("" if h5 else "; fails at this scale"),
    ))  # fmt: skip
    return out


#: Training-set and cube sharpness "agree" when their ratio's interval lies inside this band.
AGREE = (0.8, 1.25)
#: ... and they rank the models alike: Spearman correlation at least this.
MIN_RANK_CORR = 0.8


def ratio_table(tv: pd.DataFrame) -> pd.DataFrame:
    """Per model kind: pairs, geometric-mean train/cube ratio with its bootstrap interval, Spearman ρ."""
    rows = []
    for model, g in tv.groupby("model", sort=False):
        lo, hi = (float(np.exp(v)) for v in bootstrap_ci(np.log(g["ratio"])))
        rho = stats.spearmanr(g["sharpness_train"], g["sharpness_cube"])[0] if len(g) > 2 else float("nan")
        rows.append({"model": model, "pairs": len(g), "ratio": float(np.exp(np.log(g["ratio"]).mean())),
                     "ratio_lo": lo, "ratio_hi": hi, "spearman": rho})  # fmt: skip
    return pd.DataFrame(rows).set_index("model").round(3)


def describe(cfg: GeneralizationConfig, t1: pd.DataFrame, refit: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's numbers, for the notebook to display."""
    ok = t1[t1["fitted"].astype(bool)]
    by = ok.groupby("size")
    lines = [f"The {cfg.functions} random functions have as(f) between {fmt(t1['as_f'].min())} and "
             f"{fmt(t1['as_f'].max())} (n/2 = {cfg.n / 2:g})."]
    lines.append(f"{len(ok)} of {len(t1)} T1 models fitted their training sets. The functions they learned have "
                 + ", ".join(f"as(T1) {fmt(v)} at {s} strings" for s, v in by["as_T1"].mean().items())
                 + "; off the training set they agree with f on "
                 + ", ".join(f"{100 * v:.0f}%" for v in by["held_out_agreement"].mean())
                 + " of the strings (chance: 50%).")  # fmt: skip
    fitted = refit[refit["fitted"].astype(bool)]
    missed = refit[~refit["fitted"].astype(bool)]
    if len(missed):
        lines.append(f"{len(missed)} of {len(refit)} refits did not fit the cube within {cfg.refit_max_steps} steps "
                     "and are left out: " + ", ".join(
                         f"the fit to f{r.function}" if r.target == "f" else
                         f"the fit to T1 of f{r.function} ({int(r.size)} strings)" for r in missed.itertuples()) + ".")
    m = fitted.groupby("target")["sharpness_cube"].mean()
    if {"T1", "f"} <= set(m.index):
        lines.append(f"Refitted on the whole cube, models fitted to T1 have mean sharpness {fmt(m['T1'])}, models "
                     f"fitted to f {fmt(m['f'])} ({fmt(m['f'] / m['T1'])} times as sharp); they needed "
                     f"{fitted.groupby('target')['steps_run'].median()['T1']:.0f} and "
                     f"{fitted.groupby('target')['steps_run'].median()['f']:.0f} steps (median) to fit.")  # fmt: skip
    if len(fitted) > 2 and fitted["as_target"].nunique() > 1:
        rho, p = stats.spearmanr(fitted["as_target"], fitted["sharpness_cube"])
        lines.append(f"Across all {len(fitted)} refits, sharpness and the average sensitivity of the fitted function "
                     f"have Spearman rank correlation {fmt(rho)} (p = {fmt(p)}).")  # fmt: skip
    return " ".join(lines)


def compute_summary(t1: pd.DataFrame, refit: pd.DataFrame) -> pd.DataFrame:
    """Runs and training seconds (total, per run, longest) of each stage, as recorded when computed."""
    rows = [{"stage": name, "runs": len(t), "train_seconds": t["train_seconds"].sum(),
             "per_run": t["train_seconds"].mean(), "longest": t["train_seconds"].max()}
            for name, t in (("T1 runs", t1), ("refits to T1", refit[refit["target"] == "T1"]),
                            ("refits to f", refit[refit["target"] == "f"]))]  # fmt: skip
    return pd.DataFrame(rows).set_index("stage").round(1)
