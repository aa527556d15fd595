"""Chapters 04 and 05: sharpness of trained transformers vs input length (HR24 §5, §7.2, App. E.2).

One sweep serves both chapters. Each run trains an :class:`~replication.models.HR24Encoder` on one
function at one length with one seed (:mod:`replication.train`), always for the same step budget, and is
then measured on a fixed set of evaluation strings:

- Eq. 15 sharpness ×4 (Gaussian directions, ρ = 0.02, all parameters but positional embeddings) and the
  original code's ΔMSE variant with the same perturbations and inputs;
- parameter norm, ``E[Blowup]``, ``E[Blowup²]``, ``E[log Blowup]`` (§7.1 convention: product over the four
  LayerNorm applications of the max factor ``1/sqrt(var + eps)``, the factor LayerNorm divides by);
- for Thm 4, the mean blowup on *balanced* strings (``|#ones − n/2| ≤ 1``) and on *unbalanced* ones
  (``|#ones − n/2| ≥ max(n/4, 2)``), each sampled directly (a count of ones, then its positions);
- the model's own average sensitivity ``as_n(T)`` on a sample of strings and all their neighbours.

The trained weights are kept in the cache entry (``state_dict``) for later chapters. Runs go through
:func:`replication.sweep.run_sweep`, so each is cached on its own and a rerun computes nothing twice.

Runs whose final evaluation MSE is not below 1e-3 are *not converged*: they are counted per (function,
n) and left out of the sharpness regressions (HR24 §7.1), never dropped silently.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import stats

from .. import boolean
from ..cache import Cache
from ..claims import Claim, fmt
from ..config import check_choices, check_float, check_int, resolve_scale, with_overrides
from ..landscape import blowup_moments, parameter_norm, sharpness_both
from ..sweep import load_results, run_sweep
from ..train import TrainConfig, train

CHAPTER = "05_sharpness"
#: Cache kind of one run (shared by chapters 04 and 05, and by the long-input sweep).
KIND = "sharpness_run"
#: Largest ``n`` of the main sweep (the notebook parameter); the long-input sweep has its own lengths.
MAX_N = 64
MIN_N = 4
FUNCTIONS = ("parity", "majority", "first", "mean")
#: Functions of the long-input sweep (HR24 Fig. 7/8: PARITY was not feasible there).
LONG_FUNCTIONS = ("majority", "first", "mean")

#: HR24 Table 2 (App. E.2): slope, Pearson r, p-value of sharpness vs n over n = 4..30.
PAPER_TABLE2 = pd.DataFrame(
    {
        "function": ["parity", "majority", "first", "mean"],
        "paper_slope": [5.0e-2, 1.8e-3, 6.4e-5, -1.9e-5],
        "paper_r": [0.88, 0.67, 0.16, -0.07],
        "paper_p": [6e-72, 2e-36, 0.0075, 0.22],
    }
)


@dataclass(frozen=True)
class SharpnessRun:
    """One training run and its measurements: the cache key of :func:`measure_run`."""

    function: str  # target function
    n: int  # input length
    seed: int  # initialisation and data seed
    d: int  # model width
    d_ff: int | None  # feed-forward width (None: d)
    layers: int  # encoder layers
    heads: int  # attention heads
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay
    batch_size: int  # fresh strings per step
    steps: int  # step budget: every run is measured after exactly this many steps ...
    give_up_step: int | None  # ... unless at this step it is still at chance level (then cut short)
    rho: float  # sharpness: std of the Gaussian parameter perturbations
    n_perturbations: int  # sharpness: perturbations
    n_inputs: int  # sharpness / blowup: evaluation strings (the same set for every run at this n)
    n_thm4: int  # balanced and unbalanced strings each, for the Thm 4 comparison
    n_sens: int  # strings (each with its n neighbours) for the model's own average sensitivity

    def __post_init__(self):
        self.train_config()  # validates every training field
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        for name in ("n_perturbations", "n_inputs", "n_thm4", "n_sens"):
            check_int(name, getattr(self, name), 1)

    def train_config(self, device: str = "cpu") -> TrainConfig:
        return TrainConfig(
            function=self.function, n=self.n, d=self.d, layers=self.layers, heads=self.heads, d_ff=self.d_ff,
            lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size, steps=self.steps,
            seed=self.seed, give_up_step=self.give_up_step, device=device,
        )  # fmt: skip


@dataclass(frozen=True)
class SharpnessSweepConfig:
    """Settings of chapters 04 and 05: the main sweep (Fig. 1/5/6, Table 2) and the long one (Fig. 7/8)."""

    scale: str  # ci | cpu | paper
    n: int  # largest length of the main sweep (the notebook's `n`), MIN_N..MAX_N
    grid: tuple[int, ...]  # candidate lengths: the sweep runs those <= n, and n itself
    functions: tuple[str, ...] = FUNCTIONS  # functions of the main sweep
    seeds: int = 10  # seeds per (function, n): 0..seeds-1
    d: int = 128  # model width (HR24 App. E.1)
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    lr: float = 3e-4  # AdamW learning rate
    weight_decay: float = 0.1  # AdamW weight decay
    batch_size: int = 1024  # fresh strings per step
    steps: int = 10_000  # step budget of every run
    give_up_step: int | None = None  # cut runs still at chance level at this step (None: never)
    rho: float = 0.02  # sharpness perturbation std (HR24 §7.1)
    n_perturbations: int = 20  # sharpness perturbations
    n_inputs: int = 8192  # sharpness / blowup evaluation strings
    n_thm4: int = 1024  # balanced and unbalanced strings each (Thm 4)
    n_sens: int = 256  # strings for the model's own average sensitivity
    long_functions: tuple[str, ...] = LONG_FUNCTIONS  # long-input sweep (Fig. 7/8): functions
    long_ns: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256, 512)  # its lengths
    long_seeds: int = 10  # its seeds
    long_d: int = 4  # its width (HR24 App. E.1: hidden dimension 4)
    long_d_ff: int = 4  # its feed-forward width
    long_batch_size: int = 128  # its batch (SPEC)
    long_lr: float = 3e-4  # its learning rate
    long_steps: int = 10_000  # its step budget
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        check_choices("scale", [self.scale], ("ci", "cpu", "paper"))
        check_int("n", self.n, MIN_N, MAX_N)
        for m in self.grid:
            check_int("grid", m, MIN_N, MAX_N)
        check_choices("functions", self.functions, FUNCTIONS)
        check_int("seeds", self.seeds, 1, 1000)
        check_int("steps", self.steps, 1, 10**6)
        check_int("n_jobs", self.n_jobs, 1, 256)
        if self.give_up_step is not None:
            check_int("give_up_step", self.give_up_step, 1)
        check_choices("long_functions", self.long_functions, LONG_FUNCTIONS)
        for m in self.long_ns:
            check_int("long_ns", m, 2, 1024)
        check_int("long_seeds", self.long_seeds, 1, 1000)
        check_int("long_steps", self.long_steps, 1, 10**6)
        run_configs(self)[:1]  # builds (and so validates) a run of each sweep
        long_run_configs(self)[:1]

    @property
    def ns(self) -> tuple[int, ...]:
        """Lengths of the main sweep: the grid's lengths up to ``n``, and ``n``."""
        return tuple(sorted({m for m in self.grid if m <= self.n} | {self.n}))

    @classmethod
    def from_params(cls, scale=None, n=None, functions=None, seeds=None, steps=None, n_jobs=None):
        """The preset of ``scale`` with the notebook's overrides, checked before any work starts.

        Args:
            scale: "ci", "cpu", "paper", or None ($REPLICATION_SCALE, else "cpu").
            n: largest input length of the main sweep, an integer in [4, 64].
            functions: subset of ["parity", "majority", "first", "mean"].
            seeds: seeds per (function, n), >= 1.
            steps: training steps of every main-sweep run, >= 1.
            n_jobs: worker processes, >= 1.
        """
        scale = resolve_scale(scale)
        if n is not None:
            n = check_int("n", n, MIN_N, MAX_N)
        if functions is not None:
            functions = check_choices("functions", functions, FUNCTIONS)
        if seeds is not None:
            seeds = check_int("seeds", seeds, 1, 1000)
        if steps is not None:
            steps = check_int("steps", steps, 1, 10**6)
        if n_jobs is not None:
            n_jobs = check_int("n_jobs", n_jobs, 1, 256)
        return with_overrides(PRESETS[scale], n=n, functions=functions, seeds=seeds, steps=steps, n_jobs=n_jobs)




def run_configs(cfg: SharpnessSweepConfig) -> list[SharpnessRun]:
    """The main sweep: every (function, n, seed) of ``cfg``."""
    return [
        SharpnessRun(
            function=f, n=n, seed=s, d=cfg.d, d_ff=None, layers=cfg.layers, heads=cfg.heads, lr=cfg.lr,
            weight_decay=cfg.weight_decay, batch_size=cfg.batch_size, steps=cfg.steps,
            give_up_step=cfg.give_up_step, rho=cfg.rho, n_perturbations=cfg.n_perturbations,
            n_inputs=cfg.n_inputs, n_thm4=cfg.n_thm4, n_sens=cfg.n_sens,
        )  # fmt: skip
        for f in cfg.functions
        for n in cfg.ns
        for s in range(cfg.seeds)
    ]


def long_run_configs(cfg: SharpnessSweepConfig) -> list[SharpnessRun]:
    """The long-input sweep (HR24 Fig. 7/8): width ``long_d``, MAJORITY / FIRST / MEAN."""
    return [
        SharpnessRun(
            function=f, n=n, seed=s, d=cfg.long_d, d_ff=cfg.long_d_ff, layers=cfg.layers, heads=cfg.heads,
            lr=cfg.long_lr, weight_decay=cfg.weight_decay, batch_size=cfg.long_batch_size,
            steps=cfg.long_steps, give_up_step=None, rho=cfg.rho, n_perturbations=cfg.n_perturbations,
            n_inputs=cfg.n_inputs, n_thm4=cfg.n_thm4, n_sens=cfg.n_sens,
        )  # fmt: skip
        for f in cfg.long_functions
        for n in cfg.long_ns
        for s in range(cfg.long_seeds)
    ]


PRESETS = {
    # Seconds: a tiny model, two lengths, one seed. The claims are computed but are not expected to hold.
    "ci": SharpnessSweepConfig(
        scale="ci", n=6, grid=(4,), seeds=1, d=8, lr=3e-3, batch_size=64, steps=60, n_perturbations=4,
        n_inputs=256, n_thm4=64, n_sens=32, long_ns=(8, 16), long_seeds=1, long_lr=3e-3,
        long_batch_size=32, long_steps=40,
    ),
    # A 2-core laptop in under 20 minutes (chapter 05's prose gives the measurements behind each choice).
    "cpu": SharpnessSweepConfig(
        scale="cpu", n=30, grid=(4, 6, 8, 10, 12, 16, 20, 30, 40, 50, 64), seeds=2, d=32, lr=3e-4,
        batch_size=128, steps=3000, give_up_step=2000, n_perturbations=20, n_inputs=2048, n_thm4=512,
        n_sens=128, long_ns=(8, 16, 32, 64), long_seeds=2, long_lr=3e-3, long_steps=1000,
    ),
    # HR24 App. E.1 and the original code.
    "paper": SharpnessSweepConfig(scale="paper", n=30, grid=tuple(range(4, MAX_N + 1))),
}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Evaluation strings


def eval_strings(n: int, size: int) -> torch.Tensor:
    """The fixed evaluation set at length ``n``: ``(size, n)`` uniform strings, the same for every run."""
    return boolean.random_strings(size, n, generator=torch.Generator().manual_seed(90_001 + n))


def strings_with_ones(counts: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``(len(counts), n)`` strings, row ``j`` with ``counts[j]`` ones at uniformly random positions."""
    ranks = torch.rand(len(counts), n, generator=generator).argsort(-1).argsort(-1)  # random permutation
    return (ranks < counts[:, None]).long()


def balance_sets(n: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform samples of *balanced* (``|k − n/2| ≤ 1``) and *unbalanced* (``|k − n/2| ≥ max(n/4, 2)``) strings.

    ``k`` is the number of ones. Each set is the uniform distribution on the cube conditioned on the set:
    ``k`` is drawn from the binomial weights restricted to the allowed counts, then its positions
    uniformly. No rejection sampling, so it is as cheap at n = 512 as at n = 8.
    """
    g = torch.Generator().manual_seed(70_003 + 31 * n + seed)
    k = np.arange(n + 1)
    logw = np.array([math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) for j in k])
    out = []
    for allowed in (np.abs(k - n / 2) <= 1, np.abs(k - n / 2) >= max(n / 4, 2)):
        w = np.where(allowed, np.exp(logw - logw[allowed].max()), 0.0)
        counts = torch.multinomial(torch.tensor(w / w.sum()), size, replacement=True, generator=g)
        out.append(strings_with_ones(counts, n, g))
    return out[0], out[1]


@torch.no_grad()
def model_sensitivity(model, x: torch.Tensor) -> torch.Tensor:
    """Per-string sensitivity of the model, ``s(T, x) = Σ_i (T(x) − T(x^{⊕i}))²`` (HR24 Eq. 6 on the ±1 scale).

    For outputs on the {0,1} scale this is Eq. 6 of ``g = 2T − 1`` (``¼ Σ (g(x) − g(x^{⊕i}))²``), the
    convention of :mod:`replication.boolean`: a model computing PARITY exactly has ``s(T, x) = n``.

    Args:
        x: ``(B, n)`` strings. Returns ``(B,)``.
    """
    B, n = x.shape
    flips = x[:, None, :].repeat(1, n, 1)  # (B, n, n): row i has bit i flipped
    idx = torch.arange(n, device=x.device)
    flips[:, idx, idx] = 1 - flips[:, idx, idx]
    base = model(x)  # (B,)
    nb = model(flips.reshape(B * n, n)).reshape(B, n)
    return ((nb - base[:, None]) ** 2).sum(-1)


def measure_run(run: SharpnessRun, device: str = "cpu") -> dict:
    """Train ``run`` and measure it (see the module docstring). The returned dict is cached as is."""
    res = train(run.train_config(device), progress=False)
    model = res.model.eval()
    t0 = time.perf_counter()
    fn = boolean.resolve(run.function)
    x = eval_strings(run.n, run.n_inputs).to(device)
    sh = sharpness_both(model, x, fn(x), rho=run.rho, n_perturbations=run.n_perturbations, seed=run.seed)
    bal, unbal = (s.to(device) for s in balance_sets(run.n, run.n_thm4))
    with torch.no_grad():
        b_bal, b_unbal = model.blowup(bal).double(), model.blowup(unbal).double()
        sens = model_sensitivity(model, x[: run.n_sens])
        mse_bal = float(((model(bal) - fn(bal)) ** 2).mean())
    out = {
        **res.summary(),
        "sharpness": sh["sharpness"],
        "sharpness_se": sh["sharpness_se"],
        "delta_mse_sharpness": sh["delta_mse"],
        "param_norm": parameter_norm(model),
        **blowup_moments(model, x),
        "blowup_balanced": float(b_bal.mean()),
        "blowup_unbalanced": float(b_unbal.mean()),
        "blowup_sq_balanced": float((b_bal**2).mean()),
        "blowup_sq_unbalanced": float((b_unbal**2).mean()),
        "mse_balanced": mse_bal,
        "model_as": float(sens.mean()),
        "measure_seconds": time.perf_counter() - t0,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "history": res.history,
    }
    return out


# --------------------------------------------------------------------------------------------------
# Running the sweeps


def run_main(cfg: SharpnessSweepConfig, cache: Cache | None = None, scheduler=None, progress=None) -> pd.DataFrame:
    """The main sweep (every run cached on its own), one row per run, with ``as_n`` of the target."""
    df = run_sweep(run_configs(cfg), measure_run, KIND, cache=cache, n_jobs=cfg.n_jobs, scheduler=scheduler, progress=progress)
    return _annotate(df)


def run_long(cfg: SharpnessSweepConfig, cache: Cache | None = None, scheduler=None, progress=None) -> pd.DataFrame:
    """The long-input sweep of HR24 Fig. 7/8 (width ``long_d``), one row per run."""
    df = run_sweep(long_run_configs(cfg), measure_run, KIND, cache=cache, n_jobs=cfg.n_jobs, scheduler=scheduler, progress=progress)
    return _annotate(df)


def _annotate(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["as_n"] = [boolean.closed_form_sensitivity(f, n) for f, n in zip(df["function"], df["n"])]
    df["kept"] = df["converged"].astype(bool)
    return df


def load_models(runs: list[SharpnessRun], cache: Cache | None = None) -> list[dict | None]:
    """Cached results of ``runs`` with their ``state_dict`` (None where a run is not cached)."""
    return load_results(KIND, runs, cache=cache)


# --------------------------------------------------------------------------------------------------
# Analysis


def convergence_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, converged (kept) runs and runs cut short as failed, per (function, n)."""
    g = df.groupby(["function", "n"], sort=False)
    out = g.agg(runs=("seed", "size"), kept=("converged", "sum"), gave_up=("gave_up", "sum"),
                median_eval_mse=("eval_mse", "median")).reset_index()  # fmt: skip
    out["kept"] = out["kept"].astype(int)
    out["gave_up"] = out["gave_up"].astype(int)
    out["dropped"] = out["runs"] - out["kept"]
    return out


def regression_table(df: pd.DataFrame, y: str = "sharpness", x: str = "n", converged_only: bool = True) -> pd.DataFrame:
    """Least-squares slope of ``y`` on ``x`` per function (``scipy.stats.linregress``) over runs.

    One point per run, as in HR24 Table 2. Columns: slope, its standard error, Pearson r, the two-sided
    p-value for slope = 0, the number of runs and distinct lengths used, and the longest length used.
    A function with fewer than 3 runs or a single length gets NaN statistics.
    """
    rows = []
    for f, g in df.groupby("function", sort=False):
        if converged_only:
            g = g[g["converged"].astype(bool)]
        row = {"function": f, "runs": len(g), "lengths": g[x].nunique(), "max_n": g[x].max() if len(g) else np.nan}
        if len(g) >= 3 and g[x].nunique() >= 2:
            r = stats.linregress(g[x].astype(float), g[y].astype(float))
            row.update(slope=r.slope, slope_se=r.stderr, r=r.rvalue, p=r.pvalue, intercept=r.intercept)
        else:
            row.update(slope=np.nan, slope_se=np.nan, r=np.nan, p=np.nan, intercept=np.nan)
        rows.append(row)
    cols = ["function", "slope", "slope_se", "r", "p", "intercept", "runs", "lengths", "max_n"]
    return pd.DataFrame(rows)[cols]


def table2(df: pd.DataFrame) -> pd.DataFrame:
    """HR24 Table 2 (sharpness vs n over converged runs) beside the paper's values."""
    return regression_table(df).merge(PAPER_TABLE2, on="function", how="left")


def variants_table(df: pd.DataFrame) -> pd.DataFrame:
    """Eq. 15 against the original code's ΔMSE on the same runs: means, ratio and correlation per function."""
    rows = []
    for f, g in df[df["converged"].astype(bool)].groupby("function", sort=False):
        rows.append(
            {
                "function": f,
                "runs": len(g),
                "eq15_mean": g["sharpness"].mean(),
                "delta_mse_mean": g["delta_mse_sharpness"].mean(),
                "median_ratio": float((g["delta_mse_sharpness"] / g["sharpness"]).median()),
                "pearson_r": g[["sharpness", "delta_mse_sharpness"]].corr().iloc[0, 1] if len(g) > 2 else np.nan,
                "max_abs_diff": float((g["delta_mse_sharpness"] - g["sharpness"]).abs().max()),
            }
        )
    return pd.DataFrame(rows)


def compute_summary(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Runs, cached runs and CPU time (training, measuring) per sweep, from the recorded run times."""
    rows = []
    for name, df in frames.items():
        rows.append({
            "sweep": name, "runs": len(df), "cached_now": int(df["cached"].sum()),
            "train_min": df["train_seconds"].sum() / 60, "measure_min": df["measure_seconds"].sum() / 60,
            "mean_run_s": (df["train_seconds"] + df["measure_seconds"]).mean(),
            "longest_run_s": (df["train_seconds"] + df["measure_seconds"]).max(),
        })  # fmt: skip
    return pd.DataFrame(rows).round(2)


def per_length(df: pd.DataFrame, cols=("sharpness", "delta_mse_sharpness", "blowup_sq")) -> pd.DataFrame:
    """Mean and standard deviation over converged seeds per (function, n)."""
    ok = df[df["converged"].astype(bool)]
    agg = {f"{c}_{s}": (c, s) for c in cols for s in ("mean", "std")}
    return ok.groupby(["function", "n"], sort=False).agg(kept=("seed", "size"), **agg).reset_index()


# --------------------------------------------------------------------------------------------------
# Claims of chapter 05

ALPHA = 0.05  # significance level of every test


def _reg(table: pd.DataFrame, f: str) -> dict:
    row = table[table["function"] == f]
    return row.iloc[0].to_dict() if len(row) else {"slope": np.nan, "p": np.nan, "r": np.nan, "runs": 0, "max_n": np.nan}


def flatness(reg: dict, ref_slope: float) -> tuple[bool, str]:
    """A length trend counts as *flat* when its slope is not significant (p ≥ 0.05) or is under a tenth of ``ref_slope``."""
    if not np.isfinite(reg["slope"]):
        return False, "too few converged runs to fit a slope"
    if reg["p"] >= ALPHA:
        return True, f"slope not significant (p = {fmt(reg['p'])})"
    if np.isfinite(ref_slope) and abs(reg["slope"]) < 0.1 * abs(ref_slope):
        return True, f"significant but under a tenth of the reference slope ({fmt(reg['slope'])} vs {fmt(ref_slope)})"
    return False, f"slope {fmt(reg['slope'])} significant (p = {fmt(reg['p'])}) and not small"


def _paper(function: str) -> pd.Series:
    """HR24 Table 2's row for ``function``."""
    return PAPER_TABLE2.set_index("function").loc[function]


def claims(cfg: SharpnessSweepConfig, df: pd.DataFrame, long_df: pd.DataFrame | None = None) -> list[Claim]:
    """Chapter 05's claims, each computed from the run frames with the check stated in its note."""
    t2 = table2(df)
    pp, pm = _paper("parity"), _paper("mean")
    paper_ratio = pp["paper_slope"] / PAPER_TABLE2.set_index("function").drop(index="parity")["paper_slope"].abs().max()
    out = []
    ch, sc = CHAPTER, cfg.scale
    par = _reg(t2, "parity")
    others = t2[t2["function"] != "parity"]
    max_other = float(others["slope"].abs().max()) if len(others) and others["slope"].notna().any() else np.nan
    ok_sig = bool(np.isfinite(par["slope"]) and par["slope"] > 0 and par["p"] < ALPHA)
    ok_ratio = bool(np.isfinite(par["slope"]) and np.isfinite(max_other) and par["slope"] >= 10 * max_other)
    why = []
    if not np.isfinite(par["slope"]):
        why.append(f"too few converged PARITY runs ({par['runs']}) at distinct lengths to fit a slope")
    else:
        if not ok_sig:
            why.append(f"PARITY slope {fmt(par['slope'])} with p = {fmt(par['p'])} is not significantly positive")
        if not ok_ratio:
            why.append(f"ratio to the largest other |slope| is {fmt(par['slope'] / max_other)}, below 10")
    out.append(Claim(
        ch, "PARITY's sharpness grows with n: a positive, significant slope at least 10× every other function's",
        "HR24 Fig. 1/5, Table 2",
        f"slope {fmt(pp['paper_slope'])} (p = {fmt(pp['paper_p'])}), {fmt(paper_ratio)}× the largest other",
        f"slope {fmt(par['slope'])} (p = {fmt(par['p'])}, {par['runs']} runs, n ≤ {fmt(par['max_n'])}); "
        f"largest other |slope| {fmt(max_other)}",
        ok_sig and ok_ratio, sc,
        "check: linregress of sharpness on n over converged runs, slope > 0 with p < 0.05 and ≥ 10× the "
        "largest other |slope|" + ("" if ok_sig and ok_ratio else "; fails: " + "; ".join(why)),
    ))  # fmt: skip

    mean = _reg(t2, "mean")
    ok = bool(np.isfinite(mean["p"]) and mean["p"] >= ALPHA)
    out.append(Claim(
        ch, "MEAN's sharpness shows no significant trend with n", "HR24 Table 2",
        f"slope {fmt(pm['paper_slope'])}, p = {fmt(pm['paper_p'])}",
        f"slope {fmt(mean['slope'])}, p = {fmt(mean['p'])} ({mean['runs']} runs)", ok, sc,
        "check: linregress p ≥ 0.05" + ("" if ok else (
            "; fails: too few converged runs" if not np.isfinite(mean["p"]) else
            "; fails: the small slope is significant with these runs (the ΔMSE/Eq. 15 floor of MEAN still "
            "drifts with n at this training budget)")),
    ))  # fmt: skip

    conv = df[(df["function"] == "parity") & df["converged"].astype(bool)]
    if len(conv):
        n_top = int(conv["n"].max())
        top = conv[conv["n"] == n_top]["sharpness"]
        m = float(top.mean())
        ok = bool(0.5 <= m <= 2.0)
        measured = f"{fmt(m)} at n = {n_top} ({len(top)} converged runs)"
        note = "check: mean Eq. 15 ×4 sharpness of converged PARITY runs at their longest n lies in [0.5, 2]"
        if not ok:
            note += f"; fails: {fmt(m)} is {'below' if m < 0.5 else 'above'} that band (PARITY converges only up to n = {n_top} at this scale, far from the paper's n ≈ 30)"
    else:
        ok, measured = False, "no converged PARITY run"
        note = "fails: no PARITY run converged at this scale"
    out.append(Claim(ch, "PARITY's rescaled sharpness approaches the asymptotic bound 1 (Thm 6) at the longest converged n",
                     "HR24 Fig. 5, Thm 6", "≈ 1 at n ≈ 30", measured, ok, sc, note))  # fmt: skip

    if long_df is not None and len(long_df):
        lt = regression_table(long_df)
        maj = _reg(lt, "majority")
        ok_maj = bool(np.isfinite(maj["slope"]) and maj["slope"] > 0 and maj["p"] < ALPHA)
        flat = {f: flatness(_reg(lt, f), maj["slope"]) for f in ("first", "mean")}
        ok = ok_maj and all(v[0] for v in flat.values())
        measured = f"MAJORITY slope {fmt(maj['slope'])} (p = {fmt(maj['p'])}); " + "; ".join(
            f"{f.upper()} slope {fmt(_reg(lt, f)['slope'])} (p = {fmt(_reg(lt, f)['p'])})" for f in ("first", "mean"))
        reasons = [] if ok_maj else [f"MAJORITY's slope is not significantly positive (p = {fmt(maj['p'])})"]
        reasons += [f"{f.upper()}: {v[1]}" for f, v in flat.items() if not v[0]]
        out.append(Claim(
            ch, f"At width d = {cfg.long_d}, MAJORITY's sharpness grows with n while FIRST's and MEAN's stay flat",
            "HR24 Fig. 7/8", f"MAJORITY rises up to n = 512; FIRST, MEAN flat",
            measured + f" over n ≤ {max(cfg.long_ns)}", ok, sc,
            "check: linregress over converged runs; MAJORITY slope > 0 with p < 0.05; flat = p ≥ 0.05 or "
            "|slope| < MAJORITY's / 10" + (("; " + "; ".join(f"{f.upper()}: {v[1]}" for f, v in flat.items())) if ok else "; fails: " + "; ".join(reasons)),
        ))  # fmt: skip
    return out


def describe(df: pd.DataFrame, long_df: pd.DataFrame | None = None) -> str:
    """A few sentences (Markdown) stating this run's main numbers, for the notebook to display."""
    t2 = table2(df).set_index("function")
    ok = df[df["converged"].astype(bool)]
    lines = []
    if "parity" in t2.index:
        par = ok[ok["function"] == "parity"]
        failed = int((df["function"] == "parity").sum() - len(par))
        if len(par):
            top = int(par["n"].max())
            at_top = ok[ok["n"] == top].groupby("function")["sharpness"].mean()
            others = ", ".join(f"{f.upper()} {fmt(v)}" for f, v in at_top.items() if f != "parity")
            lines.append(
                f"PARITY converged up to n = {top} ({failed} of {int((df['function'] == 'parity').sum())} PARITY "
                f"runs did not converge and are left out). At n = {top} its mean sharpness is "
                f"{fmt(at_top.get('parity', np.nan))}" + (f", against {others}." if others else ".")
            )
        else:
            lines.append("No PARITY run converged at this scale, so PARITY has no sharpness to report.")
        rest = t2.drop(index="parity")["slope"].abs()
        if np.isfinite(t2.loc["parity", "slope"]) and len(rest) and rest.max() > 0:
            lines.append(
                f"PARITY's fitted slope is {fmt(t2.loc['parity', 'slope'])} per unit of n (p = {fmt(t2.loc['parity', 'p'])}), "
                f"{fmt(t2.loc['parity', 'slope'] / rest.max())} times the largest |slope| among the other functions "
                f"(HR24: {fmt(_paper('parity')['paper_slope'] / _paper('majority')['paper_slope'])} times)."
            )
    v = variants_table(df)
    if len(v):
        lines.append(
            f"Eq. 15 and the code's ΔMSE differ by at most {fmt(v['max_abs_diff'].max())} on any converged run "
            f"(median ratios {fmt(v['median_ratio'].min())}–{fmt(v['median_ratio'].max())})."
        )
    return " ".join(lines)
