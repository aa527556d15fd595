"""Chapter 01: a one-minute demonstration of the book's central result.

One small transformer per function of the preset (PARITY and MAJORITY) learns it at one input length; the
one that fits the sensitive function sits in a much sharper minimum (HR24 Fig. 1 in miniature).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from ..tasks import boolean
from ..measures import sensitivity
from ..report.claims import Claim, claims_for, fmt
from ..runs.config import ChapterConfig
from ..checks import check_choices, check_int, check_multiple
from ..measures.sharpness import sharpness
from ..report.text import label
from ..runs.store import Store
from ..runs.chapters import kind
from ..train import TrainConfig, train

CLAIM = claims_for(__name__)

#: Stored results of this chapter (committed under results/; `make results CHAPTER=01` recomputes them).
KIND = kind("demo", __name__)


@dataclass(frozen=True)
class DemoConfig(ChapterConfig):
    """Settings of the introduction's demo."""

    scale: str  # ci | cpu | paper
    n: int = 8  # input length
    functions: tuple[str, ...] = ("parity", "majority")  # functions trained
    d: int = 32  # model width
    steps: int = 2000  # training steps per model
    lr: float = 3e-4  # AdamW learning rate (the paper's; 1e-3 converges sooner but to flatter minima)
    batch_size: int = 256  # fresh strings per step
    perturbations: int = 20  # Gaussian parameter perturbations for sharpness
    inputs: int = 1024  # strings on which sharpness is averaged

    def __post_init__(self):
        """Every check of every field, in one place: a bad value raises a ValueError naming it."""
        super().__post_init__()
        check_int("n", self.n, 2, 20)
        check_choices("functions", self.functions, boolean.FUNCTIONS)
        check_multiple("d", self.d, 4, "two heads, two embedding halves")
        check_int("steps", self.steps, 1)
        check_int("perturbations", self.perturbations, 1)
        check_int("inputs", self.inputs, 1)
        self.train_config(self.functions[0])  # checks lr and batch_size as training takes them

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: n: input length, an integer in [2, 20].
    #: steps: training steps per model, >= 1.
    #: functions: a list drawn from ["parity", "majority", "first", "mean"].
    PARAMS = ("n", "steps", "functions")

    def train_config(self, function: str) -> TrainConfig:
        return TrainConfig(function, n=self.n, d=self.d, lr=self.lr, batch_size=self.batch_size, steps=self.steps)


PRESETS = {
    "ci": DemoConfig(scale="ci", n=4, d=16, steps=40, lr=1e-3, perturbations=4, inputs=128),
    "cpu": DemoConfig(scale="cpu"),
    "paper": DemoConfig(scale="paper", n=20, d=128, steps=10_000, batch_size=1024, perturbations=50, inputs=4096),
}


def run(cfg: DemoConfig, cache: Store | None = None) -> pd.DataFrame:
    """Train one model per function and measure its sharpness (HR24 Eq. 15, ×4); one row per function."""
    cache = cache or Store()
    g = torch.Generator().manual_seed(2024)
    x = boolean.random_strings(cfg.inputs, cfg.n, generator=g)
    rows = []
    for f in cfg.functions:
        tc = cfg.train_config(f)

        def measure():
            r = train(tc)
            return {**r.summary(), "sharpness": sharpness(r.model, x, n_perturbations=cfg.perturbations)}

        res = cache.get_or_compute(
            KIND, {"train": tc, "perturbations": cfg.perturbations, "inputs": cfg.inputs}, measure
        )
        rows.append({"function": f, "n": cfg.n, "as_n": sensitivity.average_sensitivity(f, cfg.n), **res})
    return pd.DataFrame(rows)


#: The columns of :func:`table`.
TABLE_COLUMNS = ["function", "as_n", "eval_mse", "converged", "sharpness", "train_seconds"]


def table(df: pd.DataFrame) -> pd.DataFrame:
    """The demo's results, one row per function, rounded for display."""
    return df[TABLE_COLUMNS].round({"as_n": 4, "sharpness": 4, "train_seconds": 1})


def _names(fs) -> str:
    names = [label(f) for f in fs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe(cfg: DemoConfig, df: pd.DataFrame) -> str:
    """What this run of the demo found, in a few sentences (Markdown), every number read from ``df``."""
    missed = df[~df["converged"].astype(bool)]
    mses = "; ".join(f"{label(f)} {fmt(m)}" for f, m in zip(df["function"], df["eval_mse"]))
    if missed.empty:
        s = (
            f"All {len(df)} models fit their targets (evaluation MSE below 10⁻³ after {cfg.steps} steps: {mses})"
            if len(df) > 2
            else f"Both models fit their targets (evaluation MSE below 10⁻³ after {cfg.steps} steps: {mses})"
        )
    else:
        one = len(missed) == 1
        s = (
            f"After {cfg.steps} steps {_names(missed['function'])} did not fit {'its target' if one else 'their targets'} "
            f"(evaluation MSE at or above 10⁻³: {mses}), so {'its' if one else 'their'} sharpness describes "
            f"{'a model that does not compute its function' if one else 'models that do not compute their functions'}"
        )
    s += "."
    if "parity" in set(df["function"]) and len(df) > 1:
        par = df.set_index("function").loc["parity"]
        others = df[df["function"] != "parity"]
        top = others.loc[others["sharpness"].idxmax()]
        ratio = par["sharpness"] / top["sharpness"]
        more = "more" if ratio > 1 else "less"
        s += (
            f" Under the same weight noise the PARITY model's outputs move {fmt(ratio if ratio > 1 else 1 / ratio)}× "
            f"{more} than the {label(top['function'])} model's (sharpness {fmt(par['sharpness'])} against "
            f"{fmt(top['sharpness'])})."
        )
    s += (
        " At n = "
        + str(cfg.n)
        + " the average sensitivities are "
        + "; ".join(f"{label(f)} {fmt(a, 4)}" for f, a in zip(df["function"], df["as_n"]))
        + "."
    )
    return s


def claims(cfg: DemoConfig, df: pd.DataFrame) -> list[Claim]:
    """One claim: PARITY's model is more than 3× sharper than every other, all models having fit their targets."""
    if "parity" not in set(df.function) or len(df) < 2:
        return []
    par = df.set_index("function").loc["parity"]
    others = df[df.function != "parity"]
    ratio = float(par["sharpness"] / others["sharpness"].max())
    unfit = [f for f, c in zip(df["function"], df["converged"]) if not bool(c)]
    ok = bool(ratio > 3 and not unfit)
    note = (
        "holds if every model fit its target (evaluation MSE < 10⁻³) and PARITY's sharpness exceeds every "
        "other function's by more than 3×"
    )
    if unfit:
        note += f"; fails: {_names(unfit)} did not fit {'its target' if len(unfit) == 1 else 'their targets'}"
    elif not ok:
        note += f"; fails: the ratio is {fmt(ratio)}"
    mses = ", ".join(f"{label(f)} {fmt(m)}" for f, m in zip(df["function"], df["eval_mse"]))
    return [
        CLAIM(
            "A transformer fitting PARITY sits in a sharper minimum than ones fitting less sensitive functions",
            "HR24 Fig. 1",
            "PARITY's sharpness far above MAJORITY's",
            f"n={cfg.n}: PARITY {fmt(par['sharpness'])} vs others ≤ {fmt(others['sharpness'].max())} "
            f"(×{fmt(ratio)}); eval MSE {mses}",
            holds=ok,
            scale=cfg.scale,
            note=note,
            kind="paper",
            section="A quick demonstration",
        )
    ]
