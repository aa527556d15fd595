"""Chapter 08: PARITY with a scratchpad (HR24 §6 Thm 7, §7.2, Fig. 11).

**Theory.** Each autoregressive step of the scratchpad computes ``t_i = x_i XOR t_{i-1}``, a function of
two of the bits it sees, so its average sensitivity is 2 whatever ``n`` (1 at step 1, where
``t_0 = 0``); :func:`theory_table` computes it exactly with :func:`replication.tasks.boolean.scratchpad_step`
beside PARITY's ``as_n = n``.

**Experiment.** :class:`ScratchpadRun` trains a
:class:`~replication.models.seq2seq.ScratchpadTransformer` with teacher forcing (fresh uniform strings
every step, MSE over all ``n`` decoder positions, AdamW) through :func:`replication.train.fit`, then
decodes fresh strings autoregressively (a run is *converged* when more than 99.9% of the scratchpad
bits it writes are right) and measures HR24 Eq. 15 sharpness over the decoder's outputs with
:mod:`replication.measures.sharpness`.

*Which outputs.* Eq. 15 is taken over the ``n`` teacher-forced outputs on the true prefixes: output
``i`` is the model's function for step ``i`` (the function Thm 7 bounds), evaluated on the inputs that
step meets when the model decodes correctly, which a converged model does (its autoregressive decoding
equals teacher forcing). The mean over the ``n`` outputs is the mean of the ``n`` per-step
sharpnesses. Beside it, ``sharpness_last`` is Eq. 15 over the last output alone, the step that writes
PARITY(x) itself, with the same perturbations.

**Comparison.** Chapter 05's PARITY runs (the encoder that outputs PARITY in one step) are read through
:mod:`.encoder_sweep` at the same scale, never retrained here; :func:`ratio_table` compares the mean
sharpness at each length both chapters have, with a bootstrap interval over runs.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from ..tasks import boolean
from ..measures import sensitivity
from ..report.claims import ALPHA, Claim, fmt
from ..checks import check_choices, check_float, check_int
from ..runs.config import from_params
from ..measures.sharpness import HR24_EXCLUDE, sharpness, sharpness_both
from ..measures.norms import parameter_norm
from ..models.seq2seq import ScratchpadTransformer, Seq2SeqConfig, prefix_parities
from ..runs.store import Store
from ..runs.chapters import chapter, kind
from ..runs.sweep import run_sweep
from ..train import fit
from .sharpness import sweep as encoder_sweep

KIND = kind("scratchpad_run", __name__)
CHAPTER = chapter(__name__).stem
MIN_N = 2
#: Longest input the chapter accepts (HR24 Fig. 11 reaches about 300).
MAX_N = 512
#: A run is converged when its autoregressive bit accuracy on fresh strings exceeds this (HR24 §7.2).
CONVERGED = 0.999
#: Largest n of the exact theory table: the last step reads 2n - 1 bits, enumerated exactly (<= 22).
MAX_THEORY_N = 11


@dataclass(frozen=True)
class ScratchpadRun:
    """One training run and its measurements: the cache key of :func:`measure_scratchpad`."""

    n: int  # input length (and scratchpad length)
    seed: int  # initialisation and data seed
    d: int  # model width
    enc_layers: int  # encoder layers
    dec_layers: int  # decoder layers
    heads: int  # attention heads
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay (all parameters)
    batch_size: int  # fresh strings per step
    steps: int  # step budget
    eval_every: int  # steps between teacher-forced evaluations
    after_converged: int | None  # stop this many steps after teacher-forced accuracy first exceeds CONVERGED
    n_eval: int  # strings of the teacher-forced evaluations during training
    n_ar: int  # fresh strings decoded autoregressively at the end
    rho: float  # sharpness: std of the Gaussian parameter perturbations
    n_perturbations: int  # sharpness: perturbations
    n_inputs: int  # sharpness: evaluation strings (the same set for every run at this n)

    def __post_init__(self):
        check_int("n", self.n, MIN_N, MAX_N)
        check_int("seed", self.seed, 0)
        for name in ("batch_size", "eval_every", "n_eval", "n_ar", "n_perturbations", "n_inputs"):
            check_int(name, getattr(self, name), 1)
        check_int("steps", self.steps, 1, 10**6)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        if self.after_converged is not None:
            check_int("after_converged", self.after_converged, 0)
        self.model_config()  # checks d, layers, heads

    def model_config(self) -> Seq2SeqConfig:
        return Seq2SeqConfig(n=self.n, d=self.d, enc_layers=self.enc_layers, dec_layers=self.dec_layers,
                             heads=self.heads)  # fmt: skip


@dataclass(frozen=True)
class ScratchpadConfig:
    """Chapter 08's settings: the exact theory table and the encoder–decoder sweep over lengths."""

    scale: str  # ci | cpu | paper
    max_n: int  # largest length of the sweep (the notebook's `n`), MIN_N..MAX_N
    grid: tuple[int, ...]  # candidate lengths: the sweep runs those <= max_n, and max_n itself
    seeds: int = 10  # seeds per length: 0..seeds-1
    d: int = 32  # model width (HR24 App. E.1, scratchpad)
    enc_layers: int = 2  # encoder layers
    dec_layers: int = 2  # decoder layers
    heads: int = 2  # attention heads
    lr: float = 3e-4  # AdamW learning rate (HR24 App. E.1)
    weight_decay: float = 0.1  # AdamW weight decay
    batch_size: int = 128  # fresh strings per step
    steps: int = 10_000  # step budget of every run
    eval_every: int = 250  # steps between teacher-forced evaluations
    after_converged: int | None = None  # stop a run this many steps after it converges (None: full budget)
    n_eval: int = 512  # strings of the teacher-forced evaluations
    n_ar: int = 1024  # strings decoded autoregressively at the end
    rho: float = 0.02  # sharpness perturbation std (HR24 §7.1)
    n_perturbations: int = 20  # sharpness perturbations
    n_inputs: int = 2048  # sharpness evaluation strings
    theory_max_n: int = 9  # theory table: n = 2..theory_max_n (its cost doubles with each n)
    bootstrap: int = 2000  # bootstrap resamples of the sharpness ratio
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        check_choices("scale", [self.scale], ("ci", "cpu", "paper"))
        check_int("n", self.max_n, MIN_N, MAX_N)  # the notebook calls it `n`
        for m in self.grid:
            check_int("grid", m, MIN_N, MAX_N)
        check_int("seeds", self.seeds, 1, 1000)
        check_int("theory_max_n", self.theory_max_n, 2, MAX_THEORY_N)
        check_int("bootstrap", self.bootstrap, 100, 10**6)
        check_int("n_jobs", self.n_jobs, 1, 256)
        runs(self)[:1]  # builds (and so checks) a run: steps, lr, d, heads, ...

    @property
    def ns(self) -> tuple[int, ...]:
        """Lengths of the sweep: the grid's lengths up to ``max_n``, and ``max_n``."""
        return tuple(sorted({m for m in self.grid if m <= self.max_n} | {self.max_n}))

    @classmethod
    def from_params(cls, scale=None, n=None, seeds=None, steps=None) -> "ScratchpadConfig":
        """The preset of ``scale`` with a notebook's parameters (None: the preset's), checked before any work.

        Args:
            scale: "ci", "cpu", "paper", or None ($REPLICATION_SCALE, else "cpu").
            n: largest input length of the sweep, an integer in [2, 512].
            seeds: seeds per length, >= 1.
            steps: training steps of every run (the budget), in [1, 10^6].
        """
        return from_params(cls, PRESETS, scale=scale, aliases={"n": "max_n"}, n=n, seeds=seeds, steps=steps)


def runs(cfg: ScratchpadConfig) -> list[ScratchpadRun]:
    """Every (n, seed) of ``cfg``."""
    return [ScratchpadRun(n=n, seed=s, d=cfg.d, enc_layers=cfg.enc_layers, dec_layers=cfg.dec_layers,
                          heads=cfg.heads, lr=cfg.lr, weight_decay=cfg.weight_decay, batch_size=cfg.batch_size,
                          steps=cfg.steps, eval_every=cfg.eval_every, after_converged=cfg.after_converged,
                          n_eval=cfg.n_eval, n_ar=cfg.n_ar, rho=cfg.rho, n_perturbations=cfg.n_perturbations,
                          n_inputs=cfg.n_inputs)
            for n in cfg.ns for s in range(cfg.seeds)]  # fmt: skip


PRESETS = {
    # Seconds: a tiny model, two short lengths, one seed. The claims are computed but are not expected to hold.
    "ci": ScratchpadConfig(scale="ci", max_n=6, grid=(4,), seeds=1, d=8, lr=3e-3, batch_size=32, steps=40,
                           eval_every=20, n_eval=64, n_ar=64, n_perturbations=4, n_inputs=128, theory_max_n=6,
                           bootstrap=200),  # fmt: skip
    # A 2-core laptop: the chapter's settings table gives the measurements behind each choice.
    "cpu": ScratchpadConfig(scale="cpu", max_n=32, grid=(4, 6, 8, 10, 12, 16, 20, 32, 64, 128), seeds=3, lr=1e-3,
                            steps=3000, eval_every=100, after_converged=500, n_eval=256, n_ar=512, n_inputs=512),  # fmt: skip
    # HR24 App. E.1 and §7.2 (Fig. 11 reaches about 300).
    "paper": ScratchpadConfig(scale="paper", max_n=300, grid=(4, 8, 16, 32, 64, 100, 128, 200, 256, 300),
                              theory_max_n=MAX_THEORY_N),
}


# --------------------------------------------------------------------------------------------------
# Theory (HR24 §6 Thm 7)


def theory_table(cfg: ScratchpadConfig) -> pd.DataFrame:
    """Exact average sensitivity of the last scratchpad step and of PARITY, n = 2..``theory_max_n``.

    One row per n: ``step_as`` is ``as`` of step ``n`` (``t_n = x_n XOR t_{n-1}``) as a function of the
    ``2n - 1`` bits it sees, enumerated exactly; ``steps_as`` lists every step 1..n; ``parity_as`` is
    PARITY's exact ``as_n`` (= n), what the encoder computing it in one step faces.
    """
    rows = []
    for n in range(2, cfg.theory_max_n + 1):
        per_step = [sensitivity.average_sensitivity(boolean.scratchpad_step(n, i), n + i - 1) for i in range(1, n + 1)]
        rows.append({"n": n, "step_as": per_step[-1], "min_step_as": min(per_step), "max_step_as": max(per_step),
                     "mean_step_as": float(np.mean(per_step)),
                     "parity_as": sensitivity.average_sensitivity("parity", n)})  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Measuring one run


class LastStep(nn.Module):
    """The last teacher-forced output of a scratchpad model, ``(B, n) -> (B,)``: the step that writes PARITY."""

    def __init__(self, model: ScratchpadTransformer):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, -1]


@torch.no_grad()
def teacher_forced(model: ScratchpadTransformer, x: torch.Tensor) -> dict:
    """MSE and accuracies of the teacher-forced outputs on strings ``x``: per bit, per string, last bit."""
    t = prefix_parities(x)
    out = model(x)
    right = (out > 0.5).long() == t
    return {"mse": float(F.mse_loss(out, t.float())), "tf_acc": float(right.float().mean()),
            "tf_seq_acc": float(right.all(1).float().mean()), "tf_last_acc": float(right[:, -1].float().mean())}


@torch.no_grad()
def autoregressive(model: ScratchpadTransformer, x: torch.Tensor) -> dict:
    """Accuracies of greedy autoregressive decoding on ``x``: per scratchpad bit, per string, and of t_n = PARITY."""
    right = model.eval().generate(x) == prefix_parities(x).long()
    return {"ar_acc": float(right.float().mean()), "ar_seq_acc": float(right.all(1).float().mean()),
            "ar_last_acc": float(right[:, -1].float().mean())}


def measure_scratchpad(run: ScratchpadRun, device: str = "cpu") -> dict:
    """Train ``run`` with teacher forcing, decode autoregressively, measure sharpness (module docstring)."""
    torch.manual_seed(run.seed)
    model = ScratchpadTransformer(run.model_config()).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)
    data = torch.Generator().manual_seed(1_000_003 * (run.seed + 1))
    x_eval = boolean.random_strings(run.n_eval, run.n, torch.Generator().manual_seed(7_919 * (run.seed + 1) + run.n))
    x_eval = x_eval.to(device)
    converged_at: list[int] = []

    def batch():
        return boolean.random_strings(run.batch_size, run.n, generator=data).to(device)

    def loss_fn(m, x):
        return F.mse_loss(m(x), prefix_parities(x).float())  # teacher forcing, MSE over all positions

    def evaluate(step, m) -> dict:
        return teacher_forced(m, x_eval)

    def stop(row) -> str | None:
        if row["tf_acc"] > CONVERGED and not converged_at:
            converged_at.append(row["step"])
        if run.after_converged is not None and converged_at and row["step"] >= converged_at[0] + run.after_converged:
            return f"stopped {run.after_converged} steps after teacher-forced accuracy exceeded {CONVERGED}"
        return None

    res = fit(model, batch, loss_fn, opt, run.steps, eval_every=run.eval_every, evaluate=evaluate, stop=stop,
              progress=False)  # fmt: skip
    summary = {"failed": res.failed, "steps_run": res.steps_run, "stopped_reason": res.stopped_reason,
               "converged_step": converged_at[0] if converged_at else None, "train_seconds": res.seconds}  # fmt: skip
    if res.failed:
        return {**summary, "converged": False, "history": res.history}
    model.eval()
    t0 = time.perf_counter()
    x_ar = boolean.random_strings(run.n_ar, run.n, torch.Generator().manual_seed(104_729 + run.seed)).to(device)
    ar = autoregressive(model, x_ar)
    x = boolean.eval_strings(run.n, run.n_inputs).to(device)
    noise = dict(rho=run.rho, n_perturbations=run.n_perturbations, seed=run.seed)
    with warnings.catch_warnings():  # vmap over perturbations (short inputs) has no rule for fused attention
        warnings.filterwarnings("ignore", message=".*batching rule", category=UserWarning)
        sh = sharpness_both(model, x, prefix_parities(x).float(), **noise)
        last = sharpness(LastStep(model), x, exclude=tuple(f"model.{e}" for e in HR24_EXCLUDE), **noise)
    return {
        **summary, **ar, **{f"final_{k}": v for k, v in teacher_forced(model, x).items()},
        "converged": ar["ar_acc"] > CONVERGED,
        "sharpness": sh["sharpness"], "sharpness_se": sh["sharpness_se"], "delta_mse_sharpness": sh["delta_mse"],
        "sharpness_last": last, "param_norm": parameter_norm(model),
        "measure_seconds": time.perf_counter() - t0,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "history": res.history,
    }  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The sweep and chapter 05's PARITY runs


def run_sweep_table(cfg: ScratchpadConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every run of ``cfg`` (each stored on its own), one row per run, with ``kept`` (converged, finite)."""
    df = run_sweep(runs(cfg), measure_scratchpad, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    df["failed"] = df["failed"].fillna(False).astype(bool)
    df["kept"] = df["converged"].fillna(False).astype(bool) & ~df["failed"]
    return df


def parity_reference(cfg: ScratchpadConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Chapter 05's PARITY runs at the same scale, read from its committed results, never retrained here.

    One row per run of chapter 05's main sweep restricted to PARITY (:func:`.encoder_sweep.run_main`), with
    its ``kept`` flag. Outside the ``ci`` scale the runs are read in ``require`` mode: if chapter 05's
    results are missing (or stale), this stops with the ``make results CHAPTER=05`` command instead of
    training them; at ``ci`` scale chapter 05's seconds-long runs are computed where missing.
    """
    ref = encoder_sweep.SweepConfig.from_params(scale=cfg.scale, functions=["parity"])
    if cache is None and cfg.scale != "ci":
        cache = Store(mode_="require", scale=cfg.scale)
    return encoder_sweep.run_main(ref, cache=cache, progress=progress)


# --------------------------------------------------------------------------------------------------
# Tables and claims


#: Columns of :func:`runs_display`.
RUN_COLUMNS = ["n", "seed", "kept", "ar_acc", "ar_seq_acc", "ar_last_acc", "converged_step", "steps_run",
               "sharpness", "sharpness_last", "delta_mse_sharpness", "param_norm", "train_seconds"]  # fmt: skip


def runs_display(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with the columns a reader needs (:data:`RUN_COLUMNS`), rounded."""
    return df[[c for c in RUN_COLUMNS if c in df]].round(5).reset_index(drop=True)


def curves(scratch: pd.DataFrame, parity: pd.DataFrame) -> pd.DataFrame:
    """Tidy frame for the figure: one row per kept run, ``model`` = scratchpad or PARITY in one step."""
    a = encoder_sweep.kept_runs(parity)[["n", "seed", "sharpness"]].assign(model="parity")
    b = scratch[scratch["kept"]][["n", "seed", "sharpness"]].assign(model="scratchpad")
    return pd.concat([b, a], ignore_index=True)


def slope_test(df: pd.DataFrame, y: str = "sharpness") -> dict:
    """Least-squares slope of ``y`` on ``n`` over kept runs: slope, 95% interval, two- and one-sided p-values."""
    if df["n"].nunique() < 2 or len(df) < 3:
        return {"slope": float("nan"), "lo": float("nan"), "hi": float("nan"), "p": float("nan"),
                "p_up": float("nan"), "r": float("nan"), "runs": len(df)}  # fmt: skip
    r = stats.linregress(df["n"].astype(float), df[y].astype(float))
    t = stats.t.ppf(0.975, len(df) - 2)
    p_up = r.pvalue / 2 if r.slope > 0 else 1 - r.pvalue / 2
    return {"slope": r.slope, "lo": r.slope - t * r.stderr, "hi": r.slope + t * r.stderr, "p": r.pvalue,
            "p_up": p_up, "r": r.rvalue, "runs": len(df)}  # fmt: skip


def ratio_table(scratch: pd.DataFrame, parity: pd.DataFrame, resamples: int, seed: int = 0) -> pd.DataFrame:
    """Mean scratchpad sharpness over mean PARITY sharpness at each length both have kept runs at.

    The interval is a percentile bootstrap over runs: runs are resampled with replacement within each
    (model, n), ``resamples`` times. The last row, ``n = "all"``, is the geometric mean of the per-length
    ratios, bootstrapped the same way.
    """
    a = scratch[scratch["kept"]]
    b = encoder_sweep.kept_runs(parity)
    common = sorted(set(a["n"]) & set(b["n"]))
    rng = np.random.default_rng(seed)
    rows, boots = [], []
    for n in common:
        sa, sb = a.loc[a["n"] == n, "sharpness"].to_numpy(), b.loc[b["n"] == n, "sharpness"].to_numpy()
        bs = (rng.choice(sa, (resamples, len(sa))).mean(1) / rng.choice(sb, (resamples, len(sb))).mean(1))
        boots.append(np.log(bs))
        rows.append({"n": n, "scratchpad_runs": len(sa), "parity_runs": len(sb), "scratchpad": sa.mean(),
                     "parity": sb.mean(), "ratio": sa.mean() / sb.mean(),
                     "lo": np.quantile(bs, 0.025), "hi": np.quantile(bs, 0.975)})  # fmt: skip
    if rows:
        g = np.exp(np.mean(boots, axis=0))
        rows.append({"n": "all", "scratchpad_runs": len(a[a["n"].isin(common)]),
                     "parity_runs": len(b[b["n"].isin(common)]), "scratchpad": np.nan, "parity": np.nan,
                     "ratio": float(np.exp(np.mean([np.log(r["ratio"]) for r in rows]))),
                     "lo": np.quantile(g, 0.025), "hi": np.quantile(g, 0.975)})  # fmt: skip
    return pd.DataFrame(rows, columns=["n", "scratchpad_runs", "parity_runs", "scratchpad", "parity", "ratio", "lo",
                                       "hi"])  # fmt: skip


def convergence_table(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, converged (kept) runs, and the median steps to teacher-forced accuracy > 0.999, per length."""
    g = df.groupby("n")
    return pd.DataFrame({"runs": g.size(), "kept": g["kept"].sum().astype(int),
                         "median_converged_step": g["converged_step"].median(),
                         "median_ar_acc": g["ar_acc"].median(),
                         "median_train_s": g["train_seconds"].median()}).reset_index()  # fmt: skip


def claims(cfg: ScratchpadConfig, theory: pd.DataFrame, scratch: pd.DataFrame, parity: pd.DataFrame,
           ratios: pd.DataFrame) -> list[Claim]:  # fmt: skip
    """Chapter 08's claims, each computed from the tables above with the check stated in its note."""
    ch, sc, out = CHAPTER, cfg.scale, []
    later = theory["n"] >= 2
    two = bool(np.allclose(theory.loc[later, "step_as"], 2.0) and (theory["max_step_as"] <= 2.0).all())
    out.append(Claim(
        ch, "With a scratchpad each autoregressive step of PARITY has O(1) average sensitivity", "HR24 §6 Thm 7",
        "O(1) per step (PARITY in one step: n)",
        f"as of the last step = {_span(theory['step_as'])} for n = {_span(theory['n'])}, every step ≤ "
        f"{fmt(theory['max_step_as'].max())} (PARITY: {_span(theory['parity_as'])})",
        two, sc, "check: exact enumeration of every step's truth table; holds if every step i ≥ 2 has as = 2 and "
        "none exceeds 2, whatever n",
    ))  # fmt: skip
    kept = scratch[scratch["kept"]]
    per_n = scratch.groupby("n")["kept"].sum()
    all_n = bool((per_n > 0).all())
    out.append(Claim(
        ch, "With a scratchpad, transformers learn PARITY at every length tried", "HR24 §7.2, Fig. 11",
        "trained up to n ≈ 300",
        f"{len(kept)}/{len(scratch)} runs converged (autoregressive bit accuracy > {CONVERGED}); lengths "
        f"{', '.join(str(n) for n in per_n.index)}; largest n with a converged run: "
        f"{int(kept['n'].max()) if len(kept) else 'none'}",
        all_n, sc, f"check: at least one converged run at every length of the sweep (up to n = {cfg.max_n})"
        + ("" if all_n else f"; fails at n = {', '.join(str(n) for n in per_n.index[per_n == 0])} within "
           f"{cfg.steps} steps"),
    ))  # fmt: skip
    s = slope_test(kept)
    p_ref = slope_test(encoder_sweep.kept_runs(parity))
    flat = bool(np.isfinite(s["p_up"]) and s["p_up"] >= ALPHA and np.isfinite(p_ref["slope"]) and s["hi"] < p_ref["slope"])
    out.append(Claim(
        ch, "With a scratchpad, sharpness does not grow with the input length", "HR24 §7.2, Fig. 11",
        "low, little increase up to n ≈ 300",
        f"slope {fmt(s['slope'])} per bit (95% CI {fmt(s['lo'])} to {fmt(s['hi'])}), one-sided p = {fmt(s['p_up'])} "
        f"(r = {fmt(s['r'])}, {s['runs']} runs, n ≤ {cfg.max_n}); PARITY in one step (chapter 05): slope "
        f"{fmt(p_ref['slope'])}",
        flat, sc, f"check: regression of sharpness on n over converged runs; holds if there is no significant "
        f"increase (one-sided p ≥ {ALPHA}) and the slope's upper 95% bound is below chapter 05's PARITY slope"
        + ("" if flat else "; fails: " + _slope_reason(s, p_ref)),
    ))  # fmt: skip
    if len(ratios):
        allr = ratios.iloc[-1]
        below = bool(allr["hi"] < 1)
        measured = (f"scratchpad / PARITY = {fmt(allr['ratio'])} (95% bootstrap CI {fmt(allr['lo'])}–"
                    f"{fmt(allr['hi'])}; {fmt(1 / allr['ratio'])}× lower) over n = "
                    f"{', '.join(str(n) for n in ratios['n'][:-1])}")  # fmt: skip
        why = "" if below else "; fails: the interval reaches 1"
    else:
        below, measured, why = False, "no length with converged runs in both chapters", "; fails: nothing to compare"
    out.append(Claim(
        ch, "Sharpness with a scratchpad stays below PARITY's without one at the same length", "HR24 §7.1–7.2, "
        "Fig. 5 vs Fig. 11", "PARITY's sharpness grows with n; the scratchpad's stays low",
        measured, below, sc, "check: geometric mean over common lengths of the ratio of mean sharpness, percentile "
        f"bootstrap over runs ({cfg.bootstrap} resamples); holds if the upper bound is below 1" + why,
    ))  # fmt: skip
    return out


def _slope_reason(s: dict, p_ref: dict) -> str:
    if not np.isfinite(s["p_up"]):
        return "too few converged runs for a regression"
    if s["p_up"] < ALPHA:
        return "sharpness rises significantly with n"
    if not np.isfinite(p_ref["slope"]):
        return "chapter 05 has too few converged PARITY runs for its slope"
    return "the interval is too wide to rule out a rise as steep as PARITY's"


def compute_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Training and measuring seconds per length, as recorded when each run was computed."""
    g = df.groupby("n")
    return pd.DataFrame({"runs": g.size(), "train_s_mean": g["train_seconds"].mean(),
                         "measure_s_mean": g["measure_seconds"].mean(),
                         "seconds_per_step": g["train_seconds"].sum() / g["steps_run"].sum(),
                         "total_min": (g["train_seconds"].sum() + g["measure_seconds"].sum()) / 60}).round(3)  # fmt: skip


def _span(values) -> str:
    v = [x for x in values if pd.notna(x)]
    if not v:
        return "none"
    lo, hi = min(v), max(v)
    return fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"


def describe(cfg: ScratchpadConfig, scratch: pd.DataFrame, parity: pd.DataFrame, ratios: pd.DataFrame) -> str:
    """The outcome sentences of the chapter, formatted from the runs (nothing typed in)."""
    kept = scratch[scratch["kept"]]
    ref = encoder_sweep.kept_runs(parity)
    lines = [f"{len(kept)} of {len(scratch)} scratchpad runs converged (autoregressive bit accuracy above "
             f"{CONVERGED} on {int(scratch['n_ar'].iloc[0])} fresh strings), at lengths {_span(kept['n'])}; "
             f"teacher-forced accuracy first exceeded {CONVERGED} after {_span(scratch['converged_step'])} steps."]
    if len(kept):
        by_n = kept.groupby("n")["sharpness"].mean()
        lines.append(f"Their sharpness (mean over seeds at each length) ranges over {_span(by_n)} from n = "
                     f"{by_n.index.min()} to n = {by_n.index.max()}; at the last step alone (the one that writes "
                     f"PARITY) it is {_span(kept.groupby('n')['sharpness_last'].mean())}.")  # fmt: skip
    if len(ref):
        by_n = ref.groupby("n")["sharpness"].mean()
        lines.append(f"Chapter 05's PARITY encoder, which computes PARITY in one step, converged at lengths "
                     f"{_span(ref['n'])} ({len(ref)} of {len(parity)} runs) with mean sharpness {_span(by_n)}.")
    if len(ratios):
        r = ratios.iloc[-1]
        lines.append(f"Over the lengths both have (n = {', '.join(str(n) for n in ratios['n'][:-1])}), the scratchpad's "
                     f"sharpness is {fmt(r['ratio'])} times PARITY's (95% bootstrap interval {fmt(r['lo'])}–"
                     f"{fmt(r['hi'])}), i.e. {fmt(1 / r['ratio'])} times lower.")  # fmt: skip
    done = scratch[scratch["steps_run"] > 0]
    if len(done):
        sec = done.groupby("n").apply(lambda g: g["train_seconds"].sum() / g["steps_run"].sum(), include_groups=False)
        lines.append(f"A training step took {fmt(sec.iloc[0])} s at n = {sec.index[0]} and {fmt(sec.iloc[-1])} s at "
                     f"n = {sec.index[-1]} (one thread, as recorded when the runs were computed).")
    return " ".join(lines)
