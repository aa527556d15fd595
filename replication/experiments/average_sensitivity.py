"""Chapter 03: exact average sensitivity, Fourier degree profiles, and sensitivity at initialisation.

HR24 §3 (Def. 3, the four example functions), §6 (Eq. 17; random initialisation); V25 §3 (weak
spectral bias). Everything on the Boolean side is exact (the cube is enumerated); the transformer side
evaluates randomly initialised :class:`~replication.models.encoder.HR24Encoder` models on every input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..tasks import boolean
from ..measures import fourier
from ..measures import sensitivity
from ..report.claims import Claim, claims_for, fmt
from ..runs.config import ChapterConfig
from ..checks import check_choices, check_int
from ..models.encoder import EncoderConfig, HR24Encoder
from ..runs.store import Store
from ..runs.chapters import kind

CLAIM = claims_for(__name__)

#: Stored results of this chapter (committed under results/; `make results CHAPTER=03` recomputes them).
KIND = kind("init_sensitivity", __name__)


@dataclass(frozen=True)
class SensitivityConfig(ChapterConfig):
    """Settings of chapter 03."""

    scale: str  # ci | cpu | paper
    n: int  # largest input length for the exact sensitivity curves (1..22)
    functions: tuple[str, ...] = ("parity", "majority", "first", "mean")  # functions shown
    profile_n: int = 11  # input length of the degree-profile figure (odd: MAJORITY has no ties)
    init_ns: tuple[int, ...] = (4, 6, 8, 10, 12)  # lengths at which random transformers are enumerated
    init_seeds: int = 10  # random initialisations (and random functions) per length
    d: int = 128  # width of the random transformers (HR24 App. E.1)
    layers: int = 2  # their depth
    heads: int = 2  # their heads

    def __post_init__(self):
        """Every check of every field, in one place: a bad value raises a ValueError naming it."""
        super().__post_init__()
        check_int("n", self.n, 1, boolean.MAX_EXACT_N)
        check_choices("functions", self.functions, boolean.FUNCTIONS)
        check_int("profile_n", self.profile_n, 1, 16)
        if not isinstance(self.init_ns, tuple) or not self.init_ns:
            raise ValueError(f"init_ns: must be a non-empty list of integers in [2, 16], got {self.init_ns!r}")
        for m in self.init_ns:
            check_int("init_ns", m, 2, 16)
        check_int("init_seeds", self.init_seeds, 1)
        check_int("d", self.d, 2)
        check_int("layers", self.layers, 1)
        check_int("heads", self.heads, 1)
        EncoderConfig(n=2, d=self.d, layers=self.layers, heads=self.heads)  # d even, heads divide d

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: n: largest input length of the exact curves, an integer in [1, 22].
    #: functions: a list drawn from ["parity", "majority", "first", "mean"].
    #: init_seeds: random transformers (and random functions) per length, >= 1.
    #: d: width of the random transformers, even.
    PARAMS = ("n", "functions", "init_seeds", "d")


PRESETS = {
    "ci": SensitivityConfig(scale="ci", n=8, profile_n=7, init_ns=(4, 6), init_seeds=2, d=16),
    "cpu": SensitivityConfig(scale="cpu", n=16, profile_n=11, init_ns=(4, 6, 8, 10, 12, 14), init_seeds=10),
    "paper": SensitivityConfig(scale="paper", n=22, profile_n=13, init_ns=(4, 6, 8, 10, 12, 14, 16), init_seeds=30),
}


def sensitivity_curves(cfg: SensitivityConfig) -> pd.DataFrame:
    """Exact ``as_n`` by enumeration beside the closed form, one row per (function, n)."""
    rows = []
    for f in cfg.functions:
        for n in range(1, cfg.n + 1):
            exact = sensitivity.average_sensitivity(f, n)
            closed = sensitivity.closed_form_sensitivity(f, n)
            rows.append({"function": f, "n": n, "as_n": exact, "closed_form": closed, "as_n_over_n": exact / n})
    return pd.DataFrame(rows)


def degree_profiles(cfg: SensitivityConfig) -> pd.DataFrame:
    """Degree profile ``d_i`` of each function at ``profile_n``, with Eq. 17's two sides."""
    rows = []
    n = cfg.profile_n
    for f in cfg.functions:
        table = sensitivity.truth_table(f, n)
        prof = fourier.degree_profile(table)
        as_direct = sensitivity.average_sensitivity(table)
        as_fourier = float((np.arange(n + 1) * prof).sum())
        for i, w in enumerate(prof):
            rows.append({"function": f, "n": n, "degree": i, "weight": w, "as_n": as_direct, "as_fourier": as_fourier})
    return pd.DataFrame(rows)


def curves_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Exact ``as_n``: one row per function, one column per n (4 decimals)."""
    return curves.pivot(index="n", columns="function", values="as_n").round(4).T


def describe_profiles(profiles: pd.DataFrame) -> str:
    """Where each function's Fourier weight sits, read off the computed profiles (Markdown bullets)."""
    lines = []
    for f, g in profiles.groupby("function", sort=False):
        n = int(g["n"].iloc[0])
        w = g.set_index("degree")["weight"]
        total = float(w.sum())
        support = [int(k) for k, v in w.items() if v > 1e-12]
        name = f.upper()
        if len(support) == 1:
            lines.append(f"- {name} puts all its weight ({fmt(total)} in total) on degree {support[0]}.")
            continue
        odd = float(w[w.index % 2 == 1].sum())
        even = float(w[w.index % 2 == 0].sum())
        listed = ", ".join(f"$d_{{{k}}}$ = {w[k]:.3f}" for k in support)
        line = (
            f"- {name} spreads its weight over degrees {support[0]}–{support[-1]} ({listed}); "
            f"odd degrees hold {odd / total:.1%} of it"
        )
        if even > 1e-12:
            line += f", even degrees {even / total:.1%}"
            if f == "majority" and n % 2 == 0:
                line += (
                    f". At even n = {n} a tie (as many ones as zeros) goes to 0, so MAJORITY is not an odd "
                    "function and has weight on even degrees too"
                )
        elif f == "majority":
            line += (
                f", even degrees none: at odd n = {n} there are no ties, MAJORITY(−x) = −MAJORITY(x) on "
                "the ±1 scale, and every even degree has weight exactly 0"
            )
        lines.append(line + ".")
    return "\n".join(lines)


def eq17_table(cfg: SensitivityConfig, n_random: int = 5) -> pd.DataFrame:
    """Both sides of HR24 Eq. 17 for the four functions and for random real-valued functions."""
    rows = []
    n = cfg.profile_n
    for f in cfg.functions:
        rows.append(
            {
                "function": f,
                "n": n,
                "direct": sensitivity.average_sensitivity(f, n),
                "fourier": fourier.sensitivity_from_spectrum(f, n),
            }
        )
    g = torch.Generator().manual_seed(0)
    for s in range(n_random):
        table = torch.randn(2**n, generator=g, dtype=torch.float64)
        rows.append(
            {
                "function": f"random real #{s}",
                "n": n,
                "direct": sensitivity.average_sensitivity(table),
                "fourier": fourier.sensitivity_from_spectrum(table),
            }
        )
    df = pd.DataFrame(rows)
    df["abs_diff"] = (df["direct"] - df["fourier"]).abs()
    return df


@torch.no_grad()
def _init_transformer_row(cfg: SensitivityConfig, n: int, seed: int) -> dict:
    torch.manual_seed(seed)
    model = HR24Encoder(EncoderConfig(n=n, d=cfg.d, layers=cfg.layers, heads=cfg.heads)).eval()
    out = model(boolean.all_strings(n).long()).double()
    boolean_table = (out > out.median()).double()  # balanced Boolean function read off the model
    prof_bool = fourier.degree_profile(boolean_table)
    real = (out - out.mean()) / out.std(unbiased=False)  # standardised real outputs
    prof_real = fourier.degree_profile(real, pm_scale=False)
    rand = sensitivity.truth_table(boolean.random_function(n, seed=10_000 + seed), n)
    return {
        "n": n,
        "seed": seed,
        "transformer_as": sensitivity.average_sensitivity(boolean_table),
        "random_as": sensitivity.average_sensitivity(rand),
        "transformer_mean_degree_real": float((np.arange(n + 1) * prof_real).sum() / prof_real[1:].sum()),
        "profile_bool": prof_bool,
        "profile_real": prof_real,
    }


def init_sensitivity(cfg: SensitivityConfig, cache: Store | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sensitivity of randomly initialised transformers vs random functions.

    Returns:
        runs: one row per (n, seed) with ``transformer_as`` (the model's output thresholded at its median,
            a balanced Boolean function), ``random_as`` (a uniformly random function) and the mean Fourier
            degree of the model's standardised real output.
        profiles: tidy degree profiles, averaged over seeds, for the transformer (Boolean and real
            output) and the binomial profile of a random function.
    """
    cache = cache or Store()
    rows = []
    for n in cfg.init_ns:
        for seed in range(cfg.init_seeds):
            key = {"n": n, "seed": seed, "d": cfg.d, "layers": cfg.layers, "heads": cfg.heads}
            rows.append(cache.get_or_compute(KIND, key, lambda: _init_transformer_row(cfg, n, seed)))
    runs = pd.DataFrame(rows)
    prof_rows = []
    for n, grp in runs.groupby("n"):
        mean_bool = np.mean(np.stack(grp["profile_bool"].to_list()), 0)
        mean_real = np.mean(np.stack(grp["profile_real"].to_list()), 0)
        mean_real = mean_real / mean_real[1:].sum()
        binom = np.array([stats.binom.pmf(k, n, 0.5) for k in range(n + 1)])
        for k in range(n + 1):
            prof_rows += [
                {"n": n, "degree": k, "weight": mean_bool[k], "source": "transformer (thresholded)"},
                {"n": n, "degree": k, "weight": mean_real[k] if k else 0.0, "source": "transformer (real output)"},
                {"n": n, "degree": k, "weight": binom[k], "source": "random function (expected)"},
            ]
    runs = runs.drop(columns=["profile_bool", "profile_real"])
    runs["transformer_as_over_n"] = runs["transformer_as"] / runs["n"]
    runs["random_as_over_n"] = runs["random_as"] / runs["n"]
    return runs, pd.DataFrame(prof_rows)


def init_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds, per n, of the random transformers' and random functions' as_n."""
    cols = ["transformer_as", "random_as", "transformer_mean_degree_real"]
    return runs.groupby("n")[cols].agg(["mean", "std"]).round(3)


def describe_init(runs: pd.DataFrame) -> str:
    """This run's sensitivities of random transformers and random functions (Markdown)."""
    lo, hi = int(runs["n"].min()), int(runs["n"].max())
    top = runs[runs["n"] == hi]
    bottom = runs[runs["n"] == lo]
    t, r = top["transformer_as"], top["random_as"]
    text = (
        f"At n = {hi} ({len(top)} seeds) the thresholded random transformers have $as_n$ = {fmt(t.mean())} "
        f"± {fmt(t.std())} (mean ± sd), the random functions {fmt(r.mean())} ± {fmt(r.std())} "
        f"(n/2 = {fmt(hi / 2)}). From n = {lo} to {hi} the transformers' mean moves from "
        f"{fmt(bottom['transformer_as'].mean())} to {fmt(t.mean())}, the random functions' from "
        f"{fmt(bottom['random_as'].mean())} to {fmt(r.mean())}."
    )
    return text


def describe_spectrum(profiles: pd.DataFrame) -> str:
    """Low-degree share and mean degree of the random transformers' spectrum at the largest n (Markdown)."""
    hi = int(profiles["n"].max())
    p = profiles[profiles["n"] == hi]
    real = p[p["source"] == "transformer (real output)"].set_index("degree")["weight"]
    rand = p[p["source"] == "random function (expected)"].set_index("degree")["weight"]
    low = lambda w: float(w[(w.index >= 1) & (w.index <= 2)].sum() / w[w.index >= 1].sum())  # noqa: E731
    mean_deg = lambda w: float((w.index * w).sum() / w[w.index >= 1].sum())  # noqa: E731
    return (
        f"At n = {hi} the random transformers' real output has {low(real):.1%} of its non-constant Fourier "
        f"weight on degrees 1 and 2 (mean degree {fmt(mean_deg(real))}, averaged over seeds); a random "
        f"function has {low(rand):.1%} there (mean degree {fmt(mean_deg(rand))})."
    )


def claims(cfg: SensitivityConfig, curves: pd.DataFrame, eq17: pd.DataFrame, init_runs: pd.DataFrame) -> list[Claim]:
    """The chapter's claims, each decided by a computation on this run's frames."""
    out = []

    def add(claim, ref, paper, measured, holds, note="", *, kind, headline=False, section):
        out.append(
            CLAIM(
                claim, ref, paper, measured, bool(holds), cfg.scale, note, kind=kind, headline=headline, section=section
            )
        )

    closed_err = float((curves["as_n"] - curves["closed_form"]).abs().max())
    add(
        "Exact as_n equals the closed forms (PARITY n, FIRST 1, MEAN 1/n, MAJORITY n·C(n-1,⌊n/2⌋)/2^(n-1))",
        "HR24 §3",
        "closed forms",
        f"max |exact − closed| = {fmt(closed_err)} over n ≤ {cfg.n}",
        closed_err < 1e-9,
        "enumeration of the whole cube",
        kind="check",
        section="Exact sensitivity against $n$",
    )
    maj = curves[(curves.function == "majority") & (curves.n >= 3)] if "majority" in cfg.functions else None
    if maj is not None and len(maj) >= 3:
        slope = stats.linregress(np.log(maj["n"]), np.log(maj["as_n"])).slope
        add(
            "MAJORITY's as_n grows like √n",
            "HR24 §3 (O'Donnell Ex. 2.22)",
            "Θ(√n): log-log slope 0.5",
            f"log-log slope {fmt(slope)} over n = 3..{cfg.n}",
            abs(slope - 0.5) < 0.1,
            "least-squares slope of log as_n on log n; small n bend it (odd/even steps)",
            kind="check",
            section="Exact sensitivity against $n$",
        )
    err17 = float(eq17["abs_diff"].max())
    add(
        "as_n = Σ_P |P| λ_P² (Eq. 17), for the four functions and random real functions",
        "HR24 Eq. 17",
        "identity",
        f"max |difference| = {fmt(err17)}",
        err17 < 1e-9,
        f"n = {cfg.profile_n}",
        kind="check",
        section="Fourier degree profiles and Eq. 17",
    )
    test = (
        stats.wilcoxon(init_runs["random_as_over_n"], init_runs["transformer_as_over_n"], alternative="greater")
        if len(init_runs) >= 6
        else None
    )
    p = test.pvalue if test is not None else float("nan")
    n_max = int(init_runs["n"].max())
    last = init_runs[init_runs["n"] == n_max]
    ratio = float(last["transformer_as"].mean() / last["random_as"].mean())
    slope_t = (
        stats.linregress(init_runs["n"], init_runs["transformer_as"]).slope
        if init_runs["n"].nunique() > 1
        else float("nan")
    )
    slope_r = (
        stats.linregress(init_runs["n"], init_runs["random_as"]).slope if init_runs["n"].nunique() > 1 else float("nan")
    )
    add(
        "Randomly initialised transformers have low average sensitivity, far below a random function's n/2",
        "HR24 §6 'Random Initialization'; Bhattamishra et al. 2023",
        "as_n well below n/2, growing slowly if at all",
        f"at n={n_max}: transformer as_n {fmt(last['transformer_as'].mean())} vs random f {fmt(last['random_as'].mean())} "
        f"(ratio {fmt(ratio)}); slope in n {fmt(slope_t)} vs {fmt(slope_r)}; Wilcoxon p = {fmt(p)}",
        bool(ratio < 0.5 and p < 0.01 and slope_t < 0.25 * slope_r),
        "holds if, at the largest n, the transformers' mean as_n is under half the random functions', their "
        "slope in n under a quarter of the random functions', and the paired Wilcoxon test (random > "
        "transformer, as_n/n) gives p < 0.01. A balanced Boolean function has as_n ≥ 1, so small n cannot "
        "show the gap",
        kind="paper",
        section="Random transformers have low sensitivity",
    )
    return out
