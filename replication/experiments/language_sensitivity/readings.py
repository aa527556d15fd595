"""Chapter 11: the readings of how V25 applied the noise, and V25 §6's comparisons judged under each.

Where V25 leave a choice open and their released code makes one, the book computes the claim under every
reading from the same runs. Three choices, eight readings (:data:`READINGS`):

- where the noise enters: the paper's (§6: on each token's LayerNorm-ed embedding, for both models) or the
  released code's (the LSTM's noise after its embedding LayerNorm, as in the paper; RoBERTa's noisy vectors
  given as ``inputs_embeds``, to which the model adds its positions and applies its embedding LayerNorm, so the
  transformer's noise enters before them: measured in each run at initialisation and at the end,
  ``code_sens_*``);
- the noise variance: 15 (§6) or 4 (App. A.4);
- what the LSTM trains: every parameter (the paper says nothing else) or its ``nn.LSTM`` module alone (the
  released script's optimiser), two runs of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, fmt
from ...report.stats import mean_sd, welch_p
from .run import NAMES

TRANSFORMERS = ("softmax", "relu")
#: Positions with fewer perturbed evaluations than this are left out of the rank correlation.
MIN_COUNT = 20


@dataclass(frozen=True)
class Reading:
    """One reading: where the noise enters (``"paper"`` or ``"code"``), its variance, what the LSTM trains."""

    path: str
    variance: float
    lstm: str  # "all" or "lstm"

    @property
    def label(self) -> str:
        where = "paper's noise path" if self.path == "paper" else "code's noise path"
        trains = "LSTM trained in full" if self.lstm == "all" else "LSTM's recurrent weights only"
        return f"{where}, σ² = {self.variance:g}, {trains}"

    def column(self, model: str, init: bool = False) -> str:
        """The run-table column of ``model``'s sensitivity on training pairs under this reading."""
        code = self.path == "code" and model != "lstm"  # the LSTM's code path is the paper's
        return f"{'init_' if init else ''}{'code_' if code else ''}sens_train_{self.variance:g}"


#: The paper's reading (the ``paper`` rows), the released code's (a ``diagnosis`` row each), and all eight.
PAPER = Reading("paper", 15.0, "all")
CODE = Reading("code", 15.0, "lstm")
READINGS = tuple(Reading(p, v, t) for p in ("paper", "code") for v in (15.0, 4.0) for t in ("all", "lstm"))


def select(runs: pd.DataFrame, reading: Reading, init: bool = False) -> pd.DataFrame:
    """One row per (model, seed) under ``reading``: the LSTM runs that train as it says, both transformers;
    ``sens`` the reading's column."""
    keep = (runs["model"] != "lstm") | (runs["trains"] == reading.lstm)
    sel = runs[keep]
    col = [reading.column(m, init) for m in sel["model"]]
    sens = [r.get(c, float("nan")) for (_, r), c in zip(sel.iterrows(), col)]
    return pd.DataFrame({"model": sel["model"].values, "seed": sel["seed"].values, "sens": sens})


def _of(sel: pd.DataFrame, model: str) -> pd.Series:
    return sel.loc[sel["model"] == model, "sens"].astype(float).dropna()


def below_lstm(runs: pd.DataFrame, reading: Reading, init: bool = False) -> tuple[bool, str, str]:
    """``(holds, measured, check)``: both transformers below the LSTM (Welch, one-sided, each at ALPHA)."""
    sel = select(runs, reading, init)
    lstm = _of(sel, "lstm")
    ps = {m: welch_p(_of(sel, m), lstm) for m in TRANSFORMERS}
    measured = "; ".join(f"{NAMES[m]} {mean_sd(_of(sel, m))}" for m in ("lstm",) + TRANSFORMERS)
    check = "one-sided Welch t-tests, each transformer below the LSTM, p = " + ", ".join(
        f"{NAMES[m]} {fmt(p)}" for m, p in ps.items()
    )
    return all(p < ALPHA for p in ps.values()), measured, check


def relu_below_softmax(runs: pd.DataFrame, reading: Reading) -> tuple[bool, str, str]:
    """``(holds, measured, check)``: ReLU attention below softmax attention after training (Welch, one-sided)."""
    sel = select(runs, reading)
    relu, soft = _of(sel, "relu"), _of(sel, "softmax")
    p = welch_p(relu, soft)
    return bool(p < ALPHA), f"ReLU {mean_sd(relu)}; softmax {mean_sd(soft)}", f"one-sided Welch t-test, p = {fmt(p)}"


def trend(pos: pd.DataFrame, reading: Reading, epoch: int) -> pd.DataFrame:
    """Per run under ``reading``: Spearman ρ of the sensitivity per position (training pairs, ``epoch``) with
    lateness, over the positions with at least :data:`MIN_COUNT` evaluations; 0 where it is flat."""
    sel = pos[
        (pos["split"] == "train")
        & (pos["variance"] == reading.variance)
        & (pos["epoch"] == epoch)
        & (pos["count"] >= MIN_COUNT)
        & ((pos["model"] != "lstm") | (pos["trains"] == reading.lstm))
        & (pos["path"] == [reading.path if m != "lstm" else "paper" for m in pos["model"]])
    ]
    out = []
    for (model, seed), g in sel.groupby(["model", "seed"], sort=False):
        flat = g["sensitivity"].nunique() < 2
        rho = 0.0 if flat else float(stats.spearmanr(-g["from_end"], g["sensitivity"]).statistic)
        out.append({"model": model, "seed": seed, "rho": rho})
    return pd.DataFrame(out, columns=["model", "seed", "rho"])


def later_positions(pos: pd.DataFrame, reading: Reading, epoch: int) -> tuple[bool, str, str]:
    """``(holds, measured, check)``: the LSTM's ρ above 0 (one-sample t-test) and above each transformer's (Welch)."""
    t = trend(pos, reading, epoch)
    lstm = t.loc[t["model"] == "lstm", "rho"]
    p_rise = float(stats.ttest_1samp(lstm, 0.0, alternative="greater").pvalue) if len(lstm) > 1 else float("nan")
    ps = {m: welch_p(t.loc[t["model"] == m, "rho"], lstm) for m in TRANSFORMERS}
    holds = bool(p_rise < ALPHA and all(p < ALPHA for p in ps.values()))
    measured = "Spearman ρ with lateness: " + "; ".join(
        f"{NAMES[m]} {mean_sd(t.loc[t['model'] == m, 'rho'])}" for m in ("lstm",) + TRANSFORMERS
    )
    check = f"the LSTM's ρ above 0 (one-sided t-test, p = {fmt(p_rise)}) and above each transformer's (Welch, p = "
    check += ", ".join(f"{NAMES[m]} {fmt(p)}" for m, p in ps.items()) + ")"
    return holds, measured, check


#: V25 §6's comparisons: name -> (the claim in one sentence, what the paper reports, V25's section).
COMPARISONS = {
    "below": (
        "The transformer, with softmax and with ReLU attention, is less sensitive than the LSTM after training",
        "MRPC: LSTM 0.15, softmax 0.002, ReLU 0.001; QQP: 0.09, 0.03, 0.02",
        "V25 §6",
    ),
    "init": (
        "The transformer is less sensitive than the LSTM already at initialisation",
        "LSTM more sensitive already at initialisation",
        "V25 §6",
    ),
    "relu": ("With ReLU in place of the softmax the transformer is less sensitive", "MRPC: 0.001 vs 0.002", "V25 §6"),
    "later": (
        "The LSTM is more sensitive to later tokens; the transformer is about uniform over positions",
        "LSTM rising towards the end; RoBERTa flat but for <s>",
        "V25 §6, App. A.4",
    ),
}


def judge(name: str, runs: pd.DataFrame, pos: pd.DataFrame, reading: Reading, epoch: int) -> tuple[bool, str, str]:
    """``(holds, measured, check)`` of comparison ``name`` of :data:`COMPARISONS` under ``reading``."""
    if name == "below":
        return below_lstm(runs, reading)
    if name == "init":
        return below_lstm(runs, reading, init=True)
    if name == "relu":
        return relu_below_softmax(runs, reading)
    if name == "later":
        return later_positions(pos, reading, epoch)
    raise ValueError(f"name: must be one of {list(COMPARISONS)}, got {name!r}")


def verdicts(runs: pd.DataFrame, pos: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """Every comparison under every reading: one row per (comparison, reading) with its verdict and measurement."""
    rows = []
    for name in COMPARISONS:
        for r in READINGS:
            holds, measured, check = judge(name, runs, pos, r, epoch)
            rows.append(
                {"comparison": name, "reading": r.label, "path": r.path, "variance": r.variance, "lstm": r.lstm}
                | {"holds": holds, "measured": measured, "check": check}
            )
    return pd.DataFrame(rows)


#: The three choices a reading makes, as :class:`Reading`'s fields, and how the diagnosis names them.
FACTORS = {"path": "where the noise enters", "variance": "the noise variance", "lstm": "what the LSTM trains"}


def deciding(table: pd.DataFrame, comparison: str = "below") -> dict[str, tuple[int, int]]:
    """Per choice of :data:`FACTORS`: in how many pairs of readings that differ in that choice alone the verdict
    of ``comparison`` differs, out of how many pairs."""
    t = table[table["comparison"] == comparison]
    out = {}
    for f in FACTORS:
        rest = [g for g in FACTORS if g != f]
        flips = [int(g["holds"].nunique() > 1) for _, g in t.groupby(rest) if len(g) == 2]
        out[f] = (sum(flips), len(flips))
    return out
