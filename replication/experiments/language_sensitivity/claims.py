"""Chapter 11's claims (V25 §6, App. A.4): one function per claim, each judged by a one-sided test over seeds.

They read the run table (:func:`.measure.run_table`) and the per-run rank correlations of sensitivity with
position (:func:`.tables.position_trend`).
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from ...report.stats import mean_sd, welch_p
from ...report.claims import ALPHA, Claim, claims_for, fmt
from .config import LanguageConfig
from .run import NAMES

CLAIM = claims_for(__name__)

TRANSFORMERS = ("softmax", "relu")
#: V25 §6's numbers at the end of training (σ² = 15, training set): MRPC and QQP.
PAPER = {"lstm": (0.15, 0.09), "softmax": (0.002, 0.03), "relu": (0.001, 0.02)}
#: The same, as the claims table writes it.
PAPER_ALL = (
    f"MRPC: LSTM {PAPER['lstm'][0]:g}, softmax {PAPER['softmax'][0]:g}, ReLU {PAPER['relu'][0]:g}; "
    f"QQP: {PAPER['lstm'][1]:g}, {PAPER['softmax'][1]:g}, {PAPER['relu'][1]:g}"
)
PAPER_RELU = (
    f"MRPC: {PAPER['relu'][0]:g} vs {PAPER['softmax'][0]:g}; QQP: {PAPER['relu'][1]:g} vs {PAPER['softmax'][1]:g}"
)


def _of(runs: pd.DataFrame, model: str, column: str) -> pd.Series:
    return runs.loc[runs["model"] == model, column].astype(float)


def _seeds(runs: pd.DataFrame) -> int:
    return int(runs.groupby("model").size().min())


def below_lstm(
    cfg: LanguageConfig,
    runs: pd.DataFrame,
    *,
    prefix: str = "",
    split: str = "train",
    variance: float = 15.0,
    before: pd.DataFrame | None = None,
    majority: float | None = None,
) -> Claim:
    """Both transformers less sensitive than the LSTM (Welch, one-sided, each at ``ALPHA``); ``prefix="init_"``
    at initialisation. ``before`` (:func:`.analysis.before_norm_table`): where the claim fails, the note adds
    the same models' sensitivity with the noise before the LayerNorm; ``majority``: the share of label 1 in the
    training pairs."""
    col = f"{prefix}sens_{split}_{variance:g}"
    lstm = _of(runs, "lstm", col)
    ps = {m: welch_p(_of(runs, m, col), lstm) for m in TRANSFORMERS}
    holds = all(p < ALPHA for p in ps.values())
    when = "at initialisation" if prefix else "after training"
    measured = "; ".join(f"{NAMES[m]} {mean_sd(_of(runs, m, col))}" for m in ("lstm",) + TRANSFORMERS)
    where = f"σ² = {variance:g}, {'training' if split == 'train' else 'validation'} pairs"
    why = (
        ""
        if holds
        else "; fails: "
        + ", ".join(
            f"{NAMES[m]} {'is not below' if _of(runs, m, col).mean() >= lstm.mean() else 'is below, but not significantly'}"
            f" the LSTM"
            for m, p in ps.items()
            if not p < ALPHA
        )
        + " in this chapter's runs"
        + _constant(runs, prefix, col, majority)
        + _before(before, col)
    )
    return CLAIM(
        section="Accuracy and sensitivity along training",
        scale=cfg.scale,
        claim=f"The transformer, with softmax and with ReLU attention, is less sensitive than the LSTM {when} ({where})",
        paper_ref="V25 §6, App. A.4" if split == "val" or variance != 15 else "V25 §6",
        paper_value=("LSTM more sensitive already at initialisation" if prefix else PAPER_ALL),
        measured=measured,
        holds=holds,
        note=f"check: one-sided Welch t-test over {_seeds(runs)} seeds per model, each transformer against the LSTM, "
        f"p = {', '.join(f'{NAMES[m]} {fmt(p)}' for m, p in ps.items())}; holds when both are below {ALPHA}" + why,
        kind="paper",
        headline=not prefix and split == "train" and variance == 15.0,  # V25 §6's result, as its abstract states it
    )


def _constant(runs: pd.DataFrame, prefix: str, col: str, majority: float | None) -> str:
    """Why the LSTM can be the least sensitive: runs of it whose prediction no single token moves."""
    lstm = runs[runs["model"] == "lstm"]
    zero = lstm[lstm[col] == 0]
    if not len(zero):
        return " (see the table of runs)"
    acc = zero[f"{prefix}train_acc"] if f"{prefix}train_acc" in zero.columns else zero["train_acc"]
    same = majority is not None and all(abs(a - majority) < 1e-9 or abs(a - (1 - majority)) < 1e-9 for a in acc)
    return (
        f": {len(zero)} of {len(lstm)} LSTM runs have sensitivity 0{' at initialisation' if prefix else ''}, with "
        f"training accuracy {', '.join(fmt(a) for a in acc)}"
        + (
            f", the accuracy of predicting one class for every pair (the label shares are {fmt(majority)} and "
            f"{fmt(1 - majority)}): no single noisy token moves the untrained LSTM off its one class"
            if same
            else ""
        )
        + " (see accuracy and sensitivity along training, epoch 0)"
    )


def _before(before: pd.DataFrame | None, col: str) -> str:
    """The same models with the noise before the LayerNorm (section "Where the noise goes"), as a clause."""
    if before is None or not len(before) or col not in before:
        return ""
    means = before.groupby("model")[col].mean()
    return (
        '; with the noise put on before the LayerNorm instead (the same models, section "Where the noise '
        'goes"): ' + ", ".join(f"{NAMES[m]} {fmt(means[m])}" for m in ("lstm",) + TRANSFORMERS if m in means)
    )


def relu_below_softmax(
    cfg: LanguageConfig, runs: pd.DataFrame, *, split: str = "train", variance: float = 15.0
) -> Claim:
    """ReLU attention less sensitive than softmax attention after training (Welch, one-sided)."""
    col = f"sens_{split}_{variance:g}"
    relu, soft = _of(runs, "relu", col), _of(runs, "softmax", col)
    p = welch_p(relu, soft)
    holds = bool(p < ALPHA)
    why = (
        ""
        if holds
        else (
            f"; fails: in this chapter's runs ReLU attention ends {'above' if relu.mean() >= soft.mean() else 'below, but not significantly below,'} "
            f"softmax attention"
        )
    )
    return CLAIM(
        section="Accuracy and sensitivity along training",
        scale=cfg.scale,
        claim="With ReLU in place of the softmax the transformer is less sensitive",
        paper_ref="V25 §6",
        paper_value=PAPER_RELU,
        measured=f"ReLU {mean_sd(relu)}; softmax {mean_sd(soft)} (σ² = {variance:g}, {split})",
        holds=holds,
        note=f"check: one-sided Welch t-test over {_seeds(runs)} seeds per model, p = {fmt(p)}; holds when below {ALPHA}"
        + why,
        kind="paper",
    )


def later_positions(cfg: LanguageConfig, trend: pd.DataFrame) -> Claim:
    """The LSTM's sensitivity rises towards the end of the sequence, the transformer's does not.

    ``trend``: one row per run, ``rho`` the Spearman correlation of sensitivity with lateness (minus the
    position from the end). Holds when the LSTM's mean ``rho`` is above 0 (one-sample t-test) and above each
    transformer's (Welch): the interaction of model and position, not the transformer's "no trend".
    """
    lstm = trend.loc[trend["model"] == "lstm", "rho"]
    p_rise = float(stats.ttest_1samp(lstm, 0.0, alternative="greater").pvalue) if len(lstm) > 1 else float("nan")
    ps = {m: welch_p(trend.loc[trend["model"] == m, "rho"], lstm) for m in TRANSFORMERS}
    holds = bool(p_rise < ALPHA and all(p < ALPHA for p in ps.values()))
    measured = "Spearman ρ with lateness: " + "; ".join(
        f"{NAMES[m]} {mean_sd(trend.loc[trend['model'] == m, 'rho'])}" for m in ("lstm",) + TRANSFORMERS
    )
    why = (
        ""
        if holds
        else "; fails: "
        + (
            "the LSTM's ρ is not significantly above 0"
            if not p_rise < ALPHA
            else "the LSTM's ρ is not significantly above every transformer's"
        )
        + " in this chapter's runs (see the sensitivity per position)"
    )
    return CLAIM(
        section="Sensitivity per position",
        scale=cfg.scale,
        claim="The LSTM is more sensitive to later tokens; the transformer is about uniform over positions",
        paper_ref="V25 §6, App. A.4",
        paper_value="LSTM rising towards the end; RoBERTa flat but for <s>",
        measured=measured,
        holds=holds,
        note=f"check: per run, Spearman ρ of the per-position sensitivity (σ² = 15, training pairs, end of training) "
        f"with lateness over the positions from the end holding at least {MIN_COUNT} evaluations; the LSTM's ρ "
        f"above 0 (one-sided t-test, p = {fmt(p_rise)}) and above each transformer's (Welch, p = "
        f"{', '.join(f'{NAMES[m]} {fmt(p)}' for m, p in ps.items())}), all < {ALPHA}" + why,
        kind="paper",
    )


#: Positions with fewer perturbed evaluations than this are left out of the rank correlation.
MIN_COUNT = 20


def fits(cfg: LanguageConfig, runs: pd.DataFrame, trials: pd.DataFrame | None = None) -> Claim:
    """The models learn the task: validation accuracy above chance (one-sided t-test over seeds, per model).
    ``trials`` (:func:`.trials.trial_table`): where the claim fails, the note adds the best validation accuracy
    each model reached in the trials."""
    ps = {}
    for m in runs["model"].unique():
        v = _of(runs, m, "val_acc")
        ps[m] = (
            float(stats.ttest_1samp(v, 0.5, alternative="greater").pvalue)
            if len(v) > 1 and v.std() > 0
            else float("nan")
        )
    holds = all(p < ALPHA for p in ps.values())
    measured = "; ".join(
        f"{NAMES[m]}: training {mean_sd(_of(runs, m, 'train_acc'))}, validation {mean_sd(_of(runs, m, 'val_acc'))}"
        for m in ps
    )
    why = (
        ""
        if holds
        else (
            "; fails: "
            + ", ".join(NAMES[m] for m, p in ps.items() if not p < ALPHA)
            + " not above chance on validation pairs: the models fit their training pairs, but what "
            "they learn does not carry to the words held out (see accuracy along training)" + _tried(trials)
        )
    )
    return CLAIM(
        section="Accuracy and sensitivity along training",
        scale=cfg.scale,
        claim="Trained from scratch, the models learn the task beyond their training pairs",
        paper_ref="V25 §6, App. D",
        paper_value="MRPC and QQP learnable without pretraining (Kovaleva et al., 2019)",
        measured=measured,
        holds=holds,
        note=f"check: one-sided t-test over seeds that validation accuracy exceeds 0.5 (the task is balanced), "
        f"p = {', '.join(f'{NAMES[m]} {fmt(p)}' for m, p in ps.items())}" + why,
        kind="diagnosis",
    )


def _tried(trials: pd.DataFrame | None) -> str:
    """The trials' best validation accuracy per model and the trial it came from, as a clause."""
    if trials is None or not len(trials):
        return ""
    t = trials.reset_index()
    best = t.loc[t.groupby("model", sort=False)["val_acc"].idxmax()]
    return (
        '; in the trials (section "Trials": more pairs, easier pair tasks, other learning rates) the best '
        "validation accuracy was "
        + ", ".join(f"{r.model} {fmt(r.val_acc)} (trial {r.trial})" for r in best.itertuples())
    )


def claims(
    cfg: LanguageConfig,
    runs: pd.DataFrame,
    trend: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    before: pd.DataFrame | None = None,
    majority: float | None = None,
    trials: pd.DataFrame | None = None,
) -> list[Claim]:
    """Every claim of the chapter, in the order of the table; ``curves`` (:func:`.analysis.curves`) adds the
    training accuracy at initialisation (``init_train_acc``) that the notes quote, ``before``
    (:func:`.analysis.before_norm_table`) the sensitivity with the noise before the LayerNorm, ``majority``
    (:func:`.analysis.label_share`) the share of label 1 in the training pairs, ``trials``
    (:func:`.trials.trial_table`) the trials the failing fit claim cites."""
    if curves is not None and (curves["epoch"] == 0).any():
        init = curves[curves["epoch"] == 0].set_index(["model", "seed"])["train_acc"]
        runs = runs.assign(init_train_acc=[init.get((m, s), float("nan")) for m, s in zip(runs["model"], runs["seed"])])
    kw = {"before": before, "majority": majority}
    out = [fits(cfg, runs, trials), below_lstm(cfg, runs, **kw), below_lstm(cfg, runs, prefix="init_", **kw)]
    out += [below_lstm(cfg, runs, split=s, variance=v, **kw) for s, v in (("train", 4.0), ("val", 15.0))]
    return out + [relu_below_softmax(cfg, runs), later_positions(cfg, trend)]
