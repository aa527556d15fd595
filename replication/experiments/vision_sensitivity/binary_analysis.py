"""Tables, prose and claims of V25's binary MNIST experiment (:mod:`.binary`): the runs, the per-epoch curves,
the checkpoints (matched training accuracy and the end of the budget), the levelling-off test, the settings
and cost table, and the two claims of V25 Fig. 13."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...report.stats import mean_sd_table, paired_p, welch_p
from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...runs.store import Store
from ...runs.stored import stored_runs, stored_sentence
from .analysis import NAMES
from .binary import KIND, binary_runs, levelled, measure_binary
from .runs import VisionConfig

CLAIM = claims_for(__name__)

#: The notebook section that shows this module's claims (each claims row links to it).
SECTION = "V25's MNIST experiment: digits 0–4 against 5–9, ViT against MLP (App. A.1, Fig. 13)"

#: Patch positions on the border of the 4x4 grid of 7x7 patches (12 of 16): mostly blank on MNIST digits.
BORDER = tuple(t for t in range(16) if t // 4 in (0, 3) or t % 4 in (0, 3))


def binary_table(
    cfg: VisionConfig, cache: Store | None = None, configs: list | None = None
) -> tuple[pd.DataFrame, list[dict]]:
    """``(runs, results)``: one row per run of the binary experiment (or of ``configs``) and its full result,
    computed or read (:func:`stored_runs`: the runs not committed yet are left out of the book build)."""
    store = cache if cache is not None else Store(scale=cfg.scale)
    configs = binary_runs(cfg) if configs is None else configs
    return stored_runs(configs, measure_binary, KIND, store, ("arch", "seed", "epochs", "optimizer"))


def binary_status(cfg: VisionConfig, runs: pd.DataFrame) -> str:
    """One sentence: how many of the experiment's runs this page reads."""
    return stored_sentence(
        len(runs),
        2 * cfg.binary_seeds,
        "runs of the binary experiment",
        detail=f" ({cfg.binary_seeds} seeds per model)",
        uses="the tables, figures and claims below",
    )


def _model(arch: str) -> str:
    return NAMES.get(arch, arch)


def binary_curves(runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """Every epoch of every run: model, seed, epoch, train_acc, test_acc, train_loss, sensitivity (per-epoch estimate)."""
    frames = [
        pd.DataFrame(res["history"]).assign(model=_model(r.arch), arch=r.arch, seed=r.seed)
        for r, res in zip(runs.itertuples(), results)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def checkpoint_table(runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """Every measured checkpoint of every run (matched-accuracy levels and ``final``), with the share of the
    sensitivity on the 12 border patches (:data:`BORDER`)."""
    rows = []
    for r, res in zip(runs.itertuples(), results):
        for c in res["checkpoints"]:
            per = np.asarray(c["per_token"], float)
            share = float(per[list(BORDER)].sum() / per.sum()) if per.sum() > 0 else float("nan")
            rows.append(
                {
                    "model": _model(r.arch),
                    "arch": r.arch,
                    "seed": r.seed,
                    **{k: v for k, v in c.items() if k != "per_token"},
                    "border_share": share,
                }
            )
    return pd.DataFrame(rows)


def matched_levels(checks: pd.DataFrame) -> list[float]:
    """The accuracy levels that every run of both models reached within the budget (V25 Fig. 13's comparison)."""
    lv = checks[checks["name"] != "final"]
    if lv.empty or set(lv["arch"]) != {"vit", "mlp"}:
        return []
    runs = checks.groupby(["arch", "seed"]).size().index
    reached = lv.groupby("level").apply(lambda g: set(zip(g["arch"], g["seed"])), include_groups=False)
    return sorted(float(level) for level, who in reached.items() if who >= set(runs))


def matched_table(checks: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of epoch, training accuracy and sensitivity per (checkpoint, model): each matched
    level and the end of the budget."""
    keep = checks[checks["level"].isin(matched_levels(checks)) | (checks["name"] == "final")].copy()
    keep["checkpoint"] = [
        f"train acc ≥ {lv:g}" if n != "final" else "end of budget" for n, lv in zip(keep["name"], keep["level"])
    ]
    return mean_sd_table(
        keep, ["checkpoint", "model"], ["epoch", "train_acc", "test_acc", "sensitivity", "border_share"]
    )


def settle_table(cfg: VisionConfig, runs: pd.DataFrame, results: list[dict], name=None) -> pd.DataFrame:
    """The levelling-off test of every run: the change of training accuracy and of the per-epoch sensitivity
    between the mean of the last ``binary_window`` epochs and of the window before, each against its bound.
    ``name(row)`` labels a run's model (default: its architecture's label)."""
    name = name or (lambda r: _model(r.arch))
    rows = []
    for r, res in zip(runs.itertuples(), results):
        da, oka = levelled(res["history"], "train_acc", cfg.binary_window, cfg.binary_acc_bound)
        ds, oks = levelled(res["history"], "sensitivity", cfg.binary_window, cfg.binary_sens_bound)
        rows.append(
            {
                "model": name(r),
                "seed": r.seed,
                "epochs": int(res["epochs_run"]),
                "Δ train acc": da,
                "Δ sensitivity": ds,
                "levelled off": bool(oka and oks),
            }
        )
    return pd.DataFrame(rows)


def binary_settings(cfg: VisionConfig, runs: pd.DataFrame) -> pd.DataFrame:
    """V25's setting beside this scale's, with the measured training cost of the stored runs."""
    r = binary_runs(cfg)[0] if cfg.binary_seeds else None
    cost = {}
    if len(runs):
        g = runs.groupby("arch")
        cost = {
            a: f"{g['train_seconds'].mean()[a]:.0f} s training + {g['measure_seconds'].mean()[a]:.0f} s measuring "
            f"per run (mean of {g.size()[a]})"
            for a in g.size().index
        }
    rows = [
        (
            "data",
            "MNIST, 60,000 training images",
            f"the bundled MNIST digits: {r.n_train} training, {r.n_test} test" if r else "not run",
            "no download is possible here",
        ),
        ("task", "digit < 5 against ≥ 5", "the same", ""),
        (
            "ViT",
            "ViT-small, depth 2, 1 head, MLP 128, 7×7 patches",
            "the same; width 64, head width 64",
            "width not stated in V25; " + cost.get("vit", "no stored run"),
        ),
        ("MLP", "one hidden layer, 100 units, LeakyReLU", "the same", cost.get("mlp", "no stored run")),
        ("optimiser", "SGD, lr 0.01, batch 50", f"SGD, lr {fmt(cfg.binary_lr)}, batch {cfg.batch_size}", ""),
        (
            "training length",
            "not stated",
            f"{cfg.binary_epochs} epochs, both models",
            f"levelled-off test: the last {cfg.binary_window} epochs against the {cfg.binary_window} before",
        ),
        (
            "compared at",
            "the same training accuracy (Fig. 13)",
            "each model's first epoch at or above " + ", ".join(f"{v:g}" for v in cfg.binary_levels) + "; and the end",
            "training accuracy on all training images, every epoch",
        ),
        (
            "sensitivity",
            "about 30% of the training images, 5 draws per patch",
            f"{r.n_sens} training images ({cfg.binary_sens_fraction:.0%}), {r.repeats} draws per patch" if r else "",
            f"along training: {cfg.binary_curve_sens} images, 1 draw",
        ),
        ("noise", "not stated for MNIST", f"σ = {fmt(r.sigma) if r else ''} per pixel (the 10-class setting's)", ""),
        ("seeds", "not stated", str(cfg.binary_seeds), "a test over seeds"),
    ]
    return pd.DataFrame(rows, columns=["setting", "V25 (App. A.1, D)", cfg.scale, "note / measured cost"]).set_index(
        "setting"
    )


def describe_binary(checks: pd.DataFrame, settle: pd.DataFrame, curves: pd.DataFrame | None = None) -> str:
    """What the runs show, in words, for the notebook."""
    if checks.empty:
        return "No run of the binary experiment is stored at this scale."
    fin = (
        checks[checks["name"] == "final"]
        .groupby("model")[["train_acc", "test_acc", "sensitivity", "border_share"]]
        .mean()
    )
    lv = matched_levels(checks)
    parts = [
        "At the end of the budget: "
        + "; ".join(
            f"{m} training accuracy {fmt(r.train_acc)}, test {fmt(r.test_acc)}, sensitivity {fmt(r.sensitivity)}, "
            f"{r.border_share:.0%} of it on the 12 border patches"
            for m, r in fin.iterrows()
        )
        + " (means over seeds)."
    ]
    parts.append(
        f"{int(settle['levelled off'].sum())} of {len(settle)} runs pass the levelling-off test{_trend(curves)}."
    )
    if lv:
        m = checks[checks["level"].isin(lv)].groupby(["level", "model"])["sensitivity"].mean().unstack()
        parts.append(
            "At matched training accuracy the mean sensitivity was "
            + "; ".join(f"{lvl:g}: " + ", ".join(f"{c} {fmt(m.loc[lvl, c])}" for c in m.columns) for lvl in m.index)
            + "."
        )
    else:
        parts.append("No accuracy level was reached by every run of both models.")
    return " ".join(parts)


# --------------------------------------------------------------------------------------------------
# Claims


def _trend(curves: pd.DataFrame | None) -> str:
    """How the per-epoch estimate moved from initialisation to the end, per model (means over seeds)."""
    if curves is None or curves.empty:
        return ""
    c = curves.sort_values("epoch").groupby(["arch", "seed"])["sensitivity"]
    start, end = c.first().groupby("arch").mean(), c.last().groupby("arch").mean()
    peak = c.max().groupby("arch").mean()
    return ". Along training the per-epoch estimate went " + "; ".join(
        f"{NAMES[a]} {fmt(start[a])} at initialisation, peak {fmt(peak[a])}, {fmt(end[a])} at the end"
        for a in start.index
    )


def _why(checks: pd.DataFrame, which: pd.DataFrame, curves: pd.DataFrame | None = None) -> str:
    """The chapter's own numbers behind a failing ViT-below-MLP claim: where the ViT's excess flips sit (blank border
    patches or inked central ones), the accuracies, and how sensitivity moved along training."""
    cols = ["border_share", "train_acc", "test_acc", "sensitivity"]
    m = which.groupby("arch")[[c for c in cols if c in which]].mean()
    if not {"vit", "mlp"} <= set(m.index):
        return ""
    nb = len(BORDER)
    # mean sensitivity of one border patch and of one central patch (the measure is a mean over the 16 patches)
    per = {
        a: (
            m.loc[a, "sensitivity"] * m.loc[a, "border_share"] * 16 / nb,
            m.loc[a, "sensitivity"] * (1 - m.loc[a, "border_share"]) * 16 / (16 - nb),
        )
        for a in ("vit", "mlp")
    }
    xb, xc = per["vit"][0] - per["mlp"][0], per["vit"][1] - per["mlp"][1]
    where = (
        "mostly on the blank border patches"
        if xb > 2 * xc
        else "mostly on the inked central patches"
        if xc > 2 * xb
        else "on blank and inked patches alike"
    )
    v, p = m.loc["vit"], m.loc["mlp"]
    acc = f"training accuracy ViT {fmt(v.train_acc)}, MLP {fmt(p.train_acc)}"
    if "test_acc" in m:
        acc += f"; test accuracy ViT {fmt(v.test_acc)}, MLP {fmt(p.test_acc)}"
    return (
        f"The ViT puts {v.border_share:.0%} of its flips on the 12 mostly blank border patches (MLP "
        f"{p.border_share:.0%}); per patch its sensitivity exceeds the MLP's by {fmt(xb)} on a border patch and "
        f"{fmt(xc)} on a central one, so the excess lies {where}. At these checkpoints: {acc}{_trend(curves)}"
    )


def matched_claim(cfg: VisionConfig, checks: pd.DataFrame, curves: pd.DataFrame | None = None) -> Claim:
    """V25 Fig. 13: at matched training accuracy the ViT is less sensitive than the MLP. Statistic: per seed, the
    ViT's minus the MLP's sensitivity averaged over the matched levels; one-sided one-sample t-test < 0."""
    lv = matched_levels(checks) if not checks.empty else []
    base = dict(
        section=SECTION,
        claim="Binary MNIST: the ViT is less sensitive than the MLP at matched training accuracy",
        paper_ref="V25 App. A.1, Fig. 13",
        paper_value="ViT below MLP at the same training accuracy",
        scale=cfg.scale,
        kind="paper",
        headline=True,
    )
    if not lv:
        return CLAIM.untestable(
            **base, why="no training-accuracy level was reached by every run of both models (or no runs are stored)"
        )
    sel = checks[checks["level"].isin(lv)]
    s = sel.pivot_table(index=["seed", "level"], columns="arch", values="sensitivity")
    d = (s["vit"] - s["mlp"]).groupby("seed").mean().dropna()
    p = paired_p(d)
    holds = bool(len(d) >= 2 and p < ALPHA)
    mean = sel.groupby("arch")["sensitivity"].mean()
    note = (
        f"check: per seed, ViT minus MLP sensitivity averaged over the levels {', '.join(f'{x:g}' for x in lv)} "
        f"(each model's first epoch at or above the level); one-sided t-test over {len(d)} seeds that the mean "
        f"is below 0, p = {fmt(p)} (holds if < {ALPHA})"
    )
    if not holds:
        note += "; fails. " + _why(checks, sel, curves)
    return CLAIM(
        **base,
        measured=f"ViT {fmt(mean['vit'])}, MLP {fmt(mean['mlp'])}; mean difference {fmt(d.mean())} ({len(d)} seeds)",
        holds=holds,
        note=note,
    )


def final_claim(cfg: VisionConfig, checks: pd.DataFrame, curves: pd.DataFrame | None = None) -> Claim:
    """At the end of the (equal) epoch budget the ViT is less sensitive than the MLP: one-sided Welch t-test."""
    base = dict(
        section=SECTION,
        claim="Binary MNIST: the ViT is less sensitive than the MLP at the end of the budget",
        paper_ref="V25 App. A.1, Fig. 13",
        paper_value="ViT below MLP at the end of training",
        scale=cfg.scale,
        kind="paper",
    )
    fin = checks[checks["name"] == "final"] if not checks.empty else checks
    v = fin[fin["arch"] == "vit"]["sensitivity"] if len(fin) else pd.Series(dtype=float)
    m = fin[fin["arch"] == "mlp"]["sensitivity"] if len(fin) else pd.Series(dtype=float)
    if len(v) < 2 or len(m) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 stored runs per model at this scale")
    p = welch_p(v, m)
    holds = bool(p < ALPHA)
    note = f"check: one-sided Welch t-test over seeds, ViT < MLP, p = {fmt(p)} (holds if < {ALPHA})"
    if not holds:
        note += "; fails. " + _why(checks, fin, curves)
    return CLAIM(
        **base,
        measured=f"ViT {fmt(v.mean())} ± {fmt(v.std())}, MLP {fmt(m.mean())} ± {fmt(m.std())} "
        f"({len(v)} and {len(m)} seeds)",
        holds=holds,
        note=note,
    )


def crossing(levels: pd.DataFrame | None, which: str = "of the final models") -> str:
    """From a noise-level sweep (:func:`.posthoc_analysis.level_table`; ``which`` models it measured, in words): at
    which multiples of the chapter's sigma the ViT's mean sensitivity is below the MLP's and at which above; ""
    without a sweep."""
    if levels is None or levels.empty or not {"vit", "mlp"} <= set(levels["arch"]):
        return ""
    m = levels.groupby(["ratio", "arch"])["sensitivity"].mean().unstack()
    below = [f"{r:g}" for r, row in m.iterrows() if row["vit"] < row["mlp"]]
    above = [f"{r:g}" for r, row in m.iterrows() if row["vit"] >= row["mlp"]]
    if not below:
        return f" The noise-level sweep {which} puts the ViT at or above the MLP at every level measured."
    return (
        f" The noise-level sweep {which} (V25 Fig. 17, in the post-hoc section) puts the ViT below the MLP at "
        f"{', '.join(below)} × sigma and at or above it at {', '.join(above) or 'no level'} × sigma: the order "
        "turns with the noise level, which V25 do not state for MNIST."
    )


def binary_claims(
    cfg: VisionConfig,
    checks: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
    matched_levels_: pd.DataFrame | None = None,
) -> list[Claim]:
    """The binary experiment's claims (none when ``binary_seeds`` is 0); ``curves`` (:func:`binary_curves`) adds
    the along-training trend to a failing claim's note, ``levels`` (the final models' noise-level sweep) where the
    order turns to a failing end-of-budget claim's, and ``matched_levels_`` (the same sweep at the checkpoints at
    the highest of ``cfg.binary_levels``) to a failing matched-accuracy claim's."""
    if not cfg.binary_seeds:
        return []
    matched, final = matched_claim(cfg, checks, curves), final_claim(cfg, checks, curves)
    if not final.holds and final.testable:  # the sweep measured the final models, so it speaks to this claim
        final = dataclasses.replace(final, note=final.note + crossing(levels))
    if not matched.holds and matched.testable:
        which = f"at each model's first epoch with training accuracy ≥ {cfg.binary_levels[-1]:g}"
        matched = dataclasses.replace(matched, note=matched.note + crossing(matched_levels_, which))
    return [matched, final]
