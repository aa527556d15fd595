"""Chapter 06: the tradeoff between parameter norm and LayerNorm blowup (HR24 §7.2, App. E; Fig. 2, 9, 10).

HR24's Cor. 5 bounds ``C · E[Blowup²]`` from below by a quantity that grows with n for PARITY, where ``C``
grows exponentially with the parameter norm: a model can pay with a large norm or a large blowup, and for
PARITY the price rises with n. Each *tradeoff run* is a chapter-05 run (:class:`~.encoder_sweep.EncoderRun`,
trained and measured by :func:`~.encoder_sweep.measure_run`) whose learning rate and weight decay are drawn
uniformly, seeded by (function, n, draw), and stored in its config; runs go through the shared sweep and
store under their own kind. Chapter 05's runs (fixed learning rate and weight decay) are read through its
public functions as a marked reference set.

The statistic: per function, a least-squares fit of log blowup on parameter norm and n over the kept runs
(:func:`n_effect`); the coefficient of n, with its two-sided t-test, says whether at matched norm the
blowup rises with n. The dynamics of PARITY (Fig. 3, 12-14) are in :mod:`.dynamics`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, fmt
from ...checks import check_choices, check_float, check_int
from ...runs.config import from_params
from ...runs.store import ResultsMissing, Store
from ...runs.chapters import chapter, kind
from ...runs.sweep import run_sweep
from . import dynamics
from .dynamics import DynamicsRun, dynamics_claims, span
from .dynamics import describe_dynamics, events_display  # noqa: F401 (for the notebook)
from ..sharpness.sweep import (FUNCTIONS, MAX_SWEEP_N, MIN_N, EncoderRun, SweepConfig, convergence_counts, kept_runs, measure_run, run_main)

KIND = kind("tradeoff_run", __name__)
CHAPTER = chapter(__name__).stem
#: Base of the seeds of the (learning rate, weight decay) draws.
DRAW_SEED = 6_006


@dataclass(frozen=True)
class TradeoffConfig:
    """Chapter 06's settings: the tradeoff runs (Fig. 2, 9, 10) and the PARITY dynamics (Fig. 3, 12-14)."""

    scale: str  # ci | cpu | paper
    max_n: int  # largest tradeoff length (the notebook's `n`)
    lengths: tuple[int, ...]  # lengths of MAJORITY, FIRST, MEAN: those <= max_n are run, and max_n itself
    parity_lengths: tuple[int, ...]  # PARITY's lengths (those <= max_n): where it converges at this scale
    functions: tuple[str, ...] = FUNCTIONS  # functions of the tradeoff runs
    draws: int = 10  # (learning rate, weight decay) draws per (function, n); draw i also seeds the model
    other_draws: int | None = None  # draws per (function, n) of MAJORITY, FIRST and MEAN (None: `draws`)
    lr_range: tuple[float, float] = (1e-4, 5e-4)  # learning rate ~ U(lo, hi) (HR24 App. E)
    wd_range: tuple[float, float] = (0.0, 0.4)  # weight decay ~ U(lo, hi) (HR24 App. E)
    d: int = 128  # model width (= feed-forward width)
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    batch_size: int = 1024  # fresh strings per step
    tradeoff_steps: int = 10_000  # step budget of every tradeoff run
    n_inputs: int = 8192  # strings for the blowup, the norm's companion
    n_perturbations: int = 20  # sharpness perturbations measured on each tradeoff run (chapter 05's measure)
    weight_decays: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)  # dynamics: weight decays (HR24 Fig. 12)
    seeds: int = 10  # dynamics: seeds per weight decay
    steps: int = 10_000  # dynamics: step budget of every run (constant learning rate)
    dynamics_lr: float = 3e-4  # dynamics: learning rate
    eval_every: int = 100  # dynamics: steps between evaluations (HR24: sharpness every 100 steps)
    dynamics_perturbations: int = 500  # dynamics: sharpness perturbations per evaluation (HR24: 500)
    dynamics_inputs: int = 1024  # dynamics: strings for sharpness and blowup at each evaluation
    rho: float = 0.02  # sharpness perturbation std (HR24 §7.1)
    window: int = 3  # dynamics: evaluations in the centred mean before the sharpness peak is read
    coincide: int = 500  # dynamics: the plateau exit and the sharpness peak coincide if within this many steps
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        check_choices("scale", [self.scale], ("ci", "cpu", "paper"))
        check_int("n", self.max_n, MIN_N, MAX_SWEEP_N)  # the notebook calls it `n`
        for m in self.lengths:
            check_int("lengths", m, MIN_N, MAX_SWEEP_N)
        for m in self.parity_lengths:
            check_int("parity_lengths", m, MIN_N, MAX_SWEEP_N)
        check_choices("functions", self.functions, FUNCTIONS)
        check_int("draws", self.draws, 1, 1000)
        if self.other_draws is not None:
            check_int("other_draws", self.other_draws, 1, 1000)
        for name in ("lr_range", "wd_range"):
            lo, hi = _pair(name, getattr(self, name))
            check_float(name, lo, 0.0, 10.0)
            check_float(name, hi, lo, 10.0)
        if not isinstance(self.weight_decays, tuple) or not self.weight_decays:
            raise ValueError(f"weight_decays: must be a non-empty list of numbers in [0, 10], "
                             f"got {self.weight_decays!r}")  # fmt: skip
        for wd in self.weight_decays:
            check_float("weight_decays", wd, 0.0, 10.0)
        check_int("seeds", self.seeds, 1, 1000)
        check_int("steps", self.steps, 1, 10**6)
        check_int("tradeoff_steps", self.tradeoff_steps, 1, 10**6)
        check_int("window", self.window, 1, 100)
        check_int("coincide", self.coincide, 0)
        check_int("n_jobs", self.n_jobs, 1, 256)
        if not self.parity_ns:
            raise ValueError(f"n: must be at least PARITY's shortest length {min(self.parity_lengths)}, "
                             f"got {self.max_n}")  # fmt: skip
        tradeoff_runs(self)[:1], dynamics_runs(self)[:1]  # builds (and so checks) a run of each kind

    @property
    def ns(self) -> tuple[int, ...]:
        """Lengths of MAJORITY, FIRST and MEAN: the candidate lengths up to ``max_n``, and ``max_n``."""
        return tuple(sorted({m for m in self.lengths if m <= self.max_n} | {self.max_n}))

    @property
    def parity_ns(self) -> tuple[int, ...]:
        """PARITY's tradeoff lengths: those of ``parity_lengths`` up to ``max_n``."""
        return tuple(sorted(m for m in set(self.parity_lengths) if m <= self.max_n))

    @property
    def dynamics_n(self) -> int:
        """The dynamics length: PARITY's longest tradeoff length (it converges there at this scale)."""
        return max(self.parity_ns)

    @classmethod
    def from_params(cls, scale=None, functions=None, n=None, draws=None, seeds=None, steps=None,
                    weight_decays=None) -> "TradeoffConfig":  # fmt: skip
        """The preset of ``scale`` with a notebook's parameters (None: the preset's), checked before any work.

        Args:
            scale: "ci", "cpu", "paper", or None ($REPLICATION_SCALE, else "cpu").
            functions: tradeoff functions, a subset of ["parity", "majority", "first", "mean"].
            n: largest tradeoff length, an integer in [4, 64]; the dynamics run at PARITY's longest.
            draws: (learning rate, weight decay) draws per (function, n) for every function, >= 1.
            seeds: dynamics seeds per weight decay, >= 1.
            steps: dynamics step budget, >= 1.
            weight_decays: dynamics weight decays, a list of numbers in [0, 10].
        """
        return from_params(cls, PRESETS, scale=scale, aliases={"n": "max_n"}, functions=functions, n=n, draws=draws,
                           other_draws=draws, seeds=seeds, steps=steps, weight_decays=weight_decays)  # fmt: skip


def _pair(name: str, value) -> tuple[float, float]:
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"{name}: must be a pair (lo, hi), got {value!r}")
    return value


def draw(cfg: TradeoffConfig, function: str, n: int, i: int) -> tuple[float, float]:
    """Draw ``i``'s (learning rate, weight decay) for (``function``, ``n``): uniform, seeded, 4 significant digits."""
    rng = np.random.default_rng([DRAW_SEED, FUNCTIONS.index(function), n, i])
    lr, wd = rng.uniform(*cfg.lr_range), rng.uniform(*cfg.wd_range)
    return float(f"{lr:.4g}"), float(f"{wd:.4g}")


def tradeoff_runs(cfg: TradeoffConfig) -> list[EncoderRun]:
    """Every tradeoff run: (function, n, draw); PARITY at its own lengths."""
    runs = []
    for f in cfg.functions:
        parity = f == "parity"
        for n in cfg.parity_ns if parity else cfg.ns:
            for i in range(cfg.draws if parity or cfg.other_draws is None else cfg.other_draws):
                lr, wd = draw(cfg, f, n, i)
                runs.append(EncoderRun(
                    function=f, n=n, seed=i, d=cfg.d, d_ff=None, layers=cfg.layers, heads=cfg.heads, lr=lr,
                    weight_decay=wd, batch_size=cfg.batch_size, steps=cfg.tradeoff_steps, give_up_step=None,
                    rho=cfg.rho, n_perturbations=cfg.n_perturbations, n_inputs=cfg.n_inputs, n_thm4=64, n_sens=32,
                ))  # fmt: skip
    return runs


def dynamics_runs(cfg: TradeoffConfig) -> list[DynamicsRun]:
    """The dynamics runs: PARITY at :attr:`TradeoffConfig.dynamics_n`, every weight decay × seed."""
    return [DynamicsRun(n=cfg.dynamics_n, seed=s, weight_decay=wd, lr=cfg.dynamics_lr, d=cfg.d, layers=cfg.layers,
                        heads=cfg.heads, batch_size=cfg.batch_size, steps=cfg.steps, eval_every=cfg.eval_every,
                        rho=cfg.rho, n_perturbations=cfg.dynamics_perturbations, n_inputs=cfg.dynamics_inputs)
            for wd in cfg.weight_decays for s in range(cfg.seeds)]  # fmt: skip


PRESETS = {
    # Seconds: a tiny model, two lengths, one draw. The claims are computed but are not expected to hold.
    "ci": TradeoffConfig(scale="ci", max_n=5, lengths=(4,), parity_lengths=(4, 5), draws=1, lr_range=(2e-3, 5e-3),
                         d=8, batch_size=64, tradeoff_steps=60, n_inputs=256, n_perturbations=2,
                         weight_decays=(0.0, 0.3), seeds=1, steps=60, dynamics_lr=3e-3, eval_every=10,
                         dynamics_perturbations=2, dynamics_inputs=64, coincide=20, n_jobs=1),  # fmt: skip
    # A 2-core laptop: the chapter's settings table gives the measurements behind each choice.
    "cpu": TradeoffConfig(scale="cpu", max_n=12, lengths=(5, 8, 12), parity_lengths=(5, 6, 7, 8), draws=3,
                          lr_range=(3e-4, 1e-3), d=32, batch_size=128, tradeoff_steps=3000, n_inputs=2048,
                          n_perturbations=4, seeds=2, steps=3000, dynamics_lr=1e-3, eval_every=100,
                          dynamics_perturbations=16, dynamics_inputs=512),  # fmt: skip
    # HR24 App. E: lengths 4..25 (Fig. 9; Fig. 10 picks 5, 10, 15, 20), PARITY dynamics at n = 25.
    "paper": TradeoffConfig(scale="paper", max_n=25, lengths=tuple(range(4, 26)), parity_lengths=tuple(range(4, 26)),
                            seeds=39),  # fmt: skip
}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Running


def measure_tradeoff(run: EncoderRun, device: str = "cpu") -> dict:
    """Chapter 05's :func:`~.encoder_sweep.measure_run` without the weights (this chapter never reads them)."""
    out = measure_run(run, device)
    out.pop("state_dict", None)
    return out


def _annotate(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["failed"] = df["failed"].fillna(False).astype(bool) if "failed" in df else False
    df["kept"] = df["converged"].astype(bool) & ~df["failed"]
    df["log_mean_blowup"] = np.log(df["blowup"].astype(float))
    return df


def run_tradeoff(cfg: TradeoffConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every tradeoff run (computed or read), one row per run, with ``kept`` and ``log_mean_blowup``."""
    return _annotate(run_sweep(tradeoff_runs(cfg), measure_tradeoff, KIND, cache=cache, n_jobs=cfg.n_jobs,
                               progress=progress))  # fmt: skip


def reference_runs(cfg: TradeoffConfig, cache: Store | None = None) -> pd.DataFrame:
    """Chapter 05's kept runs at this scale (fixed learning rate and weight decay), for the tradeoff plot.

    Only a figure's reference: where chapter 05's results are not committed (the book build reads and never
    trains), the frame is empty and :func:`describe_reference` says so.
    """
    try:
        ref = run_main(SweepConfig.from_params(scale=cfg.scale), cache=cache)
    except ResultsMissing:
        return pd.DataFrame(columns=["function", "n", "seed", "param_norm", "blowup", "log_mean_blowup", "kept"])
    ref = kept_runs(ref)
    ref = ref[ref["function"].isin(cfg.functions)].copy()
    ref["log_mean_blowup"] = np.log(ref["blowup"].astype(float))
    return ref


def dynamics_curves(cfg: TradeoffConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every evaluation of every dynamics run (:func:`.dynamics.dynamics_curves`)."""
    return dynamics.dynamics_curves(dynamics_runs(cfg), cache, cfg.n_jobs, progress)


def events_table(curves: pd.DataFrame, cfg: TradeoffConfig) -> pd.DataFrame:
    """One row per dynamics run: plateau exit, sharpness peak, and norm / blowup change after convergence."""
    return dynamics.events_table(curves, window=cfg.window)


def counts(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, kept runs and dropped runs per (function, n) (:func:`~.encoder_sweep.convergence_counts`)."""
    return convergence_counts(df)


# --------------------------------------------------------------------------------------------------
# The statistic


def ols(y, X) -> tuple[np.ndarray, np.ndarray, int]:
    """Least squares ``y ≈ X b``: coefficients, their standard errors, residual degrees of freedom."""
    y, X = np.asarray(y, dtype=float), np.asarray(X, dtype=float)
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = len(y) - X.shape[1]
    resid = y - X @ b
    sigma2 = resid @ resid / dof if dof > 0 else np.nan
    se = np.sqrt(np.diag(sigma2 * np.linalg.pinv(X.T @ X)))
    return b, se, dof


def n_effect(df: pd.DataFrame, y: str = "log_mean_blowup", x: str = "param_norm") -> pd.DataFrame:
    """Per function, ``y ~ a + b·x + c·n`` over the kept runs: ``c`` (the effect of n at matched ``x``), its
    standard error, t and two-sided p (t distribution, runs − 3 degrees of freedom), ``b``, and the runs and
    lengths used. A function with fewer than 4 kept runs or a single length gets NaN statistics."""
    rows = []
    for f, g in df[df["kept"].astype(bool)].groupby("function", sort=False):
        row = {"function": f, "runs": len(g), "lengths": g["n"].nunique()}
        if len(g) >= 4 and g["n"].nunique() >= 2:
            X = np.column_stack([np.ones(len(g)), g[x], g["n"]])
            b, se, dof = ols(g[y], X)
            t = b[2] / se[2] if se[2] > 0 else np.nan
            row.update(coef_n=b[2], se_n=se[2], t_n=t, p_n=float(2 * stats.t.sf(abs(t), dof)), coef_norm=b[1])
        else:
            row.update(coef_n=np.nan, se_n=np.nan, t_n=np.nan, p_n=np.nan, coef_norm=np.nan)
        rows.append(row)
    cols = ["function", "coef_n", "se_n", "t_n", "p_n", "coef_norm", "runs", "lengths"]
    return pd.DataFrame(rows, columns=cols)


def parity_offset(df: pd.DataFrame, y: str = "log_mean_blowup", x: str = "param_norm") -> pd.DataFrame:
    """How far PARITY sits above the other functions at matched norm, per PARITY length.

    A line ``y ~ a + b·x`` is fitted to the other functions' kept runs (all lengths); each kept PARITY run's
    residual from it is its offset. Per length: the mean offset, the others' residual spread, and a
    two-sided Mann-Whitney p-value of PARITY's residuals against the others'.
    """
    ok = df[df["kept"].astype(bool)]
    others, par = ok[ok["function"] != "parity"], ok[ok["function"] == "parity"]
    if len(others) < 3 or not len(par):
        return pd.DataFrame(columns=["n", "runs", "offset", "others_sd", "p"])
    b, _, _ = ols(others[y], np.column_stack([np.ones(len(others)), others[x]]))
    res_o = others[y] - (b[0] + b[1] * others[x])
    rows = []
    for n, g in par.groupby("n"):
        r = g[y] - (b[0] + b[1] * g[x])
        p = stats.mannwhitneyu(r, res_o, alternative="two-sided").pvalue if len(g) >= 2 else np.nan
        rows.append({"n": n, "runs": len(g), "offset": float(r.mean()), "others_sd": float(res_o.std()), "p": float(p)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Claims and prose numbers


def claims(cfg: TradeoffConfig, runs: pd.DataFrame, events: pd.DataFrame) -> list[Claim]:
    """Chapter 06's claims, each computed from the tables above with the check stated in its note."""
    ch, sc, out = CHAPTER, cfg.scale, []
    eff = n_effect(runs).set_index("function")
    par = eff.loc["parity"] if "parity" in eff.index else None
    ok = bool(par is not None and par["coef_n"] > 0 and par["p_n"] < ALPHA)
    out.append(Claim(
        ch, "For PARITY the norm–blowup frontier moves outward with n: at matched norm, log blowup rises with n",
        "HR24 §7.2, Fig. 2, 9", "runs at larger n sit above the others",
        "no kept PARITY runs" if par is None else
        f"coefficient of n {fmt(par['coef_n'])} ± {fmt(par['se_n'])} per unit of n (p = {fmt(par['p_n'])}, "
        f"{int(par['runs'])} runs, {int(par['lengths'])} lengths)", ok, sc,
        f"check: least squares log E[Blowup] ~ norm + n over the kept PARITY runs; coefficient of n > 0 with "
        f"two-sided t-test p < {ALPHA}" + ("" if ok else "; fails: too few kept runs or lengths, or no significant "
                                           "rise at this scale's short lengths"),
    ))  # fmt: skip
    rest = eff.drop(index="parity", errors="ignore")
    lacking = [f for f in rest.index if not np.isfinite(rest.loc[f, "p_n"])]
    sig = [f for f in rest.index if rest.loc[f, "p_n"] < ALPHA]
    flat = bool(len(rest) and not lacking and not sig)
    why = "; ".join(([f"too few kept runs or lengths for {', '.join(lacking)}"] if lacking else [])
                    + [f"n is significant for {f} (coefficient {fmt(rest.loc[f, 'coef_n'])}, PARITY's "
                       f"{fmt(par['coef_n']) if par is not None else 'nan'})" for f in sig])  # fmt: skip
    out.append(Claim(
        ch, "For MAJORITY, FIRST and MEAN, n adds nothing significant at matched norm", "HR24 §7.2, Fig. 9",
        "no visible dependence on n",
        "; ".join(f"{f}: {fmt(r.coef_n)} (p = {fmt(r.p_n)})" for f, r in rest.iterrows()) or "no other function",
        flat, sc, f"check: the same regression per function; the coefficient of n is not significant (p ≥ {ALPHA}) "
        f"for every one" + ("" if flat else f"; fails: {why or 'no other function was run'}"),
    ))  # fmt: skip
    off = parity_offset(runs)
    if len(off) >= 2:
        short, long_ = off.iloc[0], off.iloc[-1]
        ok = bool(short["p"] >= ALPHA and long_["p"] < ALPHA and long_["offset"] > short["offset"])
        measured = (f"offset above the others' line at n = {int(short['n'])}: {fmt(short['offset'])} (p = "
                    f"{fmt(short['p'])}); at n = {int(long_['n'])}: {fmt(long_['offset'])} (p = {fmt(long_['p'])})")
    else:
        ok, measured = False, "fewer than two PARITY lengths with kept runs"
    out.append(Claim(
        ch, "Short PARITY sits with the other functions; longer PARITY sits above them", "HR24 App. E, Fig. 10",
        "n = 5: like the others; n = 10, 15, 20: above", measured, ok, sc,
        f"check: residuals of PARITY runs from a line log E[Blowup] ~ norm fitted to the other functions; at "
        f"PARITY's shortest length not different from theirs (Mann-Whitney p ≥ {ALPHA}), at its longest "
        f"different (p < {ALPHA}) and higher" + ("" if ok else "; fails: " + _offset_reason(off)),
    ))  # fmt: skip
    out += dynamics_claims(cfg, events)
    return out




# --------------------------------------------------------------------------------------------------
# Tables and prose for the notebook

#: The columns of :func:`runs_table`.
RUN_COLUMNS = ["function", "n", "seed", "lr", "weight_decay", "eval_mse", "kept", "param_norm", "blowup",
               "log_mean_blowup", "sharpness", "source"]  # fmt: skip


def runs_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per tradeoff run with the columns of :data:`RUN_COLUMNS`, rounded for display."""
    return df[[c for c in RUN_COLUMNS if c in df]].round(5)


def describe_tradeoff(runs: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's tradeoff numbers."""
    c = counts(runs)
    lines = [f"{int(c['kept'].sum())} of {int(c['runs'].sum())} tradeoff runs converged and are kept."]
    drops = c[c["dropped"] > 0]
    if len(drops):
        lines.append("Dropped: " + ", ".join(f"{label_of(r.function)} n = {r.n}: {r.dropped}/{r.runs}"
                                             for r in drops.itertuples()) + ".")  # fmt: skip
    eff = n_effect(runs)
    for r in eff.itertuples():
        if np.isfinite(r.coef_n):
            sig = "significant" if r.p_n < ALPHA else "not significant"
            lines.append(f"{label_of(r.function)}: at matched norm, log blowup changes by {r.coef_n:+.3f} per unit of "
                         f"n (p = {fmt(r.p_n)}, {sig}); per unit of norm by {r.coef_norm:+.3f}.")  # fmt: skip
    kept = runs[runs["kept"].astype(bool)]
    if len(kept):
        lines.append(f"Across kept runs the norm spans {kept['param_norm'].min():.1f}–{kept['param_norm'].max():.1f} "
                     f"and the mean blowup {kept['blowup'].min():.1f}–{kept['blowup'].max():.1f}.")  # fmt: skip
    return " ".join(lines)


def describe_reference(reference: pd.DataFrame) -> str:
    """One sentence on the reference set (chapter 05's runs) drawn in the tradeoff figure."""
    if not len(reference):
        return "Chapter 05's runs are not stored at this scale, so the figure has no reference set."
    lr, wd = reference["lr"].iloc[0], reference["weight_decay"].iloc[0]
    return (f"The grey crosses are chapter 05's {len(reference)} kept runs (learning rate {lr:g}, weight decay {wd:g}, "
            f"{int(reference['steps'].iloc[0]):,} steps, lengths {span(reference['n'])}).")


def compute_summary(runs: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Runs and CPU minutes (as recorded when each run was computed) of the tradeoff and the dynamics."""
    rows = [{"experiment": "tradeoff", "runs": len(runs), "train_min": runs["train_seconds"].sum() / 60,
             "measure_min": runs["measure_seconds"].fillna(0).sum() / 60},
            {"experiment": "dynamics", "runs": len(events), "train_min": events["train_seconds"].sum() / 60,
             "measure_min": 0.0}]  # fmt: skip
    return pd.DataFrame(rows).set_index("experiment").round(2)


def _offset_reason(off: pd.DataFrame) -> str:
    """Why the short-PARITY claim failed, from :func:`parity_offset`."""
    if len(off) < 2:
        return "fewer than two PARITY lengths with kept runs"
    short, long_ = off.iloc[0], off.iloc[-1]
    if short["p"] < ALPHA:
        return (f"already at n = {int(short['n'])} PARITY sits {fmt(short['offset'])} above the others' line in log "
                f"blowup (HR24 compare n = 5 with lengths up to 20; PARITY's lengths here reach only "
                f"{int(long_['n'])})")
    return f"at n = {int(long_['n'])} PARITY is not significantly above the others (p = {fmt(long_['p'])})"


def label_of(function: str) -> str:
    return function.upper()
