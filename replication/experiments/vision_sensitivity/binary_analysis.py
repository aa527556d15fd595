"""Tables, prose and claims of V25's binary MNIST experiment (:mod:`.binary`): the runs, the per-epoch curves,
the checkpoints (matched training accuracy and the end of the budget), the levelling-off test, the settings
and cost table, and the two claims of V25 Fig. 13."""

from __future__ import annotations


import numpy as np
import pandas as pd

from ...report.empty import table_when_run
from ...report.stats import mean_sd_table
from ...report.claims import fmt
from ...runs.store import Store
from ...runs.stored import stored_runs, stored_sentence
from .analysis import NAMES
from .binary import KIND, binary_runs, levelled, measure_binary
from .config import VisionConfig


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
    """The accuracy levels that every run of both models reached within the budget (V25 Fig. 13's comparison);
    none for no runs."""
    if checks.empty:
        return []
    lv = checks[checks["name"] != "final"]
    if lv.empty or set(lv["arch"]) != {"vit", "mlp"}:
        return []
    runs = checks.groupby(["arch", "seed"]).size().index
    reached = lv.groupby("level").apply(lambda g: set(zip(g["arch"], g["seed"])), include_groups=False)
    return sorted(float(level) for level, who in reached.items() if who >= set(runs))


@table_when_run
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
