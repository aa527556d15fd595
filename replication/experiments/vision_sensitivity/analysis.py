"""Chapter 10's tables, prose and claims: the sweep's run table, the per-epoch curves, corruption and
per-token tables, the summary, V25's numbers beside ours, the descriptions the notebook shows, and the
claims, one builder per kind of claim, each judged by a one-sided t-test over seeds at level ``ALPHA``."""

from __future__ import annotations

import math

import pandas as pd

from ...report.claims import fmt
from ...report.stats import mean_sd_table
from ...report.text import DASH, label
from ...runs.store import Store
from ...runs.sweep import load_results, run_sweep
from ...tasks.corruptions import CATEGORY
from .measure import measure_vision
from .runs import KIND, vision_runs
from .config import VisionConfig


def run_table(cfg: VisionConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """One row per run of ``cfg`` (config fields and scalar results), computed or read from the results."""
    cache = cache if cache is not None else Store(scale=cfg.scale)
    runs = run_sweep(vision_runs(cfg), measure_vision, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    return runs.assign(model=[label(a, m) for a, m in zip(runs["arch"], runs["method"])])


#: How an architecture is written in tables and figures (a model: ``label(arch, method)``, e.g. "ViT + reg").
NAMES = {a: label(a) for a in ("vit", "cnn", "mlp", "vit_nopn")}


def curves(cfg: VisionConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Every epoch's evaluation of every run: one row per (model, seed, epoch)."""
    frames, cache = [], cache if cache is not None else Store(scale=cfg.scale)
    for (_, row), res in zip(runs.iterrows(), load_results(KIND, vision_runs(cfg), cache=cache)):
        h = pd.DataFrame(res["history"])
        frames.append(
            h.assign(model=label(row["arch"], row["method"]), arch=row["arch"], method=row["method"], seed=row["seed"])
        )
    return pd.concat(frames, ignore_index=True)


def corruption_table(cfg: VisionConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Accuracy under every corruption and severity, plus clean test accuracy (severity 0): one row per (run, corruption, severity)."""
    rows, cache = [], cache if cache is not None else Store(scale=cfg.scale)
    for (_, r), res in zip(runs.iterrows(), load_results(KIND, vision_runs(cfg), cache=cache)):
        key = {"model": label(r["arch"], r["method"]), "arch": r["arch"], "method": r["method"], "seed": r["seed"]}
        rows += [{**key, **c, "category": CATEGORY[c["corruption"]]} for c in res["corruption"]]
    return pd.DataFrame(rows)


def token_table(cfg: VisionConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Final sensitivity per token position: one row per (run, token) with the token's grid row and column."""
    rows, cache = [], cache if cache is not None else Store(scale=cfg.scale)
    for (_, r), res in zip(runs.iterrows(), load_results(KIND, vision_runs(cfg), cache=cache)):
        per = res["sens_per_token"]
        side = math.isqrt(len(per))
        rows += [
            {"model": r["model"], "seed": r["seed"], "token": t, "row": t // side, "col": t % side, "sensitivity": v}
            for t, v in enumerate(per)
        ]
    return pd.DataFrame(rows)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± standard deviation over seeds of each model's numbers (the chapter's main table)."""
    cols = ["train_acc", "test_acc", "sensitivity", "noise_acc", "corrupt_acc", "shop", "shpred", "epochs_run"]
    return mean_sd_table(runs, "model", cols)


#: V25's end-of-training sensitivities (§5) and Table 2 (ViT-small on CIFAR-10), set beside ours.
PAPER = pd.DataFrame(
    [
        ("Fashion-MNIST", "MLP (LeakyReLU)", "sensitivity", 0.0559),
        ("Fashion-MNIST", "MLP (sigmoid)", "sensitivity", 0.0505),
        ("Fashion-MNIST", "CNN", "sensitivity", 0.0453),
        ("Fashion-MNIST", "ViT", "sensitivity", 0.0098),
        ("CIFAR-10", "DenseNet-121", "sensitivity", 0.3673),
        ("CIFAR-10", "ResNet-18", "sensitivity", 0.0827),
        ("CIFAR-10", "ConvMixer", "sensitivity", 0.0829),
        ("CIFAR-10", "ViT-small", "sensitivity", 0.0050),
        ("CIFAR-10", "ViT-simple", "sensitivity", 0.0014),
        ("CIFAR-10", "ViT-small", "ShOp", 39.166),
        ("CIFAR-10", "ViT-small + reg", "ShOp", 9.025),
        ("CIFAR-10", "ViT-small", "ShPred", 0.5346),
        ("CIFAR-10", "ViT-small + reg", "ShPred", 0.3982),
    ],
    columns=["dataset", "model", "measure", "value"],
)


#: The kind of model each of V25's models is, for the rows of :func:`paper_beside_ours`.
PAPER_KIND = {
    "MLP (LeakyReLU)": "MLP",
    "MLP (sigmoid)": "MLP",
    "CNN": "CNN",
    "DenseNet-121": "CNN",
    "ResNet-18": "CNN",
    "ConvMixer": "CNN",
    "ViT": "ViT",
    "ViT-small": "ViT",
    "ViT-simple": "ViT",
    "ViT-small + reg": "ViT + reg",
}


def paper_beside_ours(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """V25's numbers next to this run's means over seeds: one row per (measure, kind of model), V25's values on
    Fashion-MNIST and on CIFAR-10 (each named by V25's model where it is not the kind itself) beside the book's.
    A pair that nobody measured shows "—"."""
    means = runs.groupby("model", sort=False)[["sensitivity", "shop", "shpred"]].mean()
    ours = {
        (meas, m): fmt(float(means.loc[m, col]))
        for m in means.index
        for meas, col in (("sensitivity", "sensitivity"), ("ShOp", "shop"), ("ShPred", "shpred"))
        if meas == "sensitivity" or m.startswith("ViT")
    }
    paper: dict[tuple[str, str, str], list[str]] = {}
    for r in PAPER.itertuples():
        kind = PAPER_KIND.get(r.model, r.model)
        text = fmt(r.value) if r.model == kind else f"{r.model} {fmt(r.value)}"
        paper.setdefault((r.measure, kind, r.dataset), []).append(text)
    rows = list(dict.fromkeys([(m, k) for m, k, _ in paper] + list(ours)))
    order = ["sensitivity", "ShOp", "ShPred"]
    rows.sort(key=lambda r: order.index(r[0]))  # stable: V25's order of models within a measure, then the book's
    datasets = list(dict.fromkeys(PAPER["dataset"]))
    out = pd.DataFrame(
        [
            [*("; ".join(paper.get((meas, kind, d), [])) or DASH for d in datasets), ours.get((meas, kind), DASH)]
            for meas, kind in rows
        ],
        index=pd.MultiIndex.from_tuples(rows, names=["measure", "model"]),
        columns=[*(f"V25, {d}" for d in datasets), f"this book, {dataset}"],
    )
    return out


def describe(cfg: VisionConfig, runs: pd.DataFrame, curves: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's numbers on the plainly trained models, for the notebook."""
    plain = runs[runs["method"] == "plain"]
    means = plain.groupby("arch")["sensitivity"].mean().sort_values()
    acc = plain.groupby("arch")["train_acc"].agg(["min", "max"])
    reached = int(runs["reached_target"].astype(bool).sum())
    order = " < ".join(f"{NAMES[a]} ({fmt(v)})" for a, v in means.items())
    patch = int(runs["patch"].iloc[0])
    lines = [
        f"Data: {cfg.dataset} ({runs['n_train'].iloc[0]} training and {runs['n_test'].iloc[0]} test images), "
        f"patch {patch}, token noise σ = {fmt(cfg.noise_sigma)}.",
        f"{reached} of {len(runs)} runs reached the target training accuracy {cfg.target_acc:.0%} within "
        f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} (after {int(runs['epochs_run'].min())}–{int(runs['epochs_run'].max())} epochs); "
        "on the whole training set the plainly trained models ended at "
        + "; ".join(f"{NAMES[a]} {fmt(r['min'])}–{fmt(r['max'])}" for a, r in acc.iterrows())
        + ".",
        f"Mean sensitivity at the end of training, lowest first: {order}.",
    ]
    if len(means) > 1 and means.iloc[0] > 0:
        lines.append(
            f"The most sensitive architecture changes its prediction {means.iloc[-1] / means.iloc[0]:.1f}× "
            f"as often as the least sensitive one."
        )
    per = plain.groupby("arch")[["epochs_run", "test_acc"]].mean()
    lines.append(
        "Mean epochs to the target: "
        + ", ".join(f"{NAMES[a]} {r.epochs_run:.1f}" for a, r in per.iterrows())
        + "; mean test accuracy: "
        + ", ".join(f"{NAMES[a]} {fmt(r.test_acc)}" for a, r in per.iterrows())
        + "."
    )
    if "vit" in means.index and len(means) > 1 and means.index[0] != "vit":
        lines.append(
            f"Unlike in V25, the ViT is not the least sensitive architecture in this run: {NAMES[means.index[0]]} is."
        )
    c = curves[curves["method"] == "plain"]
    start = c[c["epoch"] == 0].groupby("arch")["sensitivity"].mean()
    end = c.sort_values("epoch").groupby(["arch", "seed"]).tail(1).groupby("arch")["sensitivity"].mean()
    lines.append(
        "The per-epoch estimate went from "
        + "; ".join(f"{NAMES[a]} {fmt(start[a])} → {fmt(end[a])}" for a in start.index)
        + " between initialisation and the "
        "last epoch."
    )
    return " ".join(lines)


def _change(before: float, after: float) -> str:
    """``"rose from a to b"``, ``"fell from a to b"`` or ``"stayed at a"``."""
    if fmt(before) == fmt(after):
        return f"stayed at {fmt(before)}"
    return f"{'rose' if after > before else 'fell'} from {fmt(before)} to {fmt(after)}"


def describe_methods(cfg: VisionConfig, runs: pd.DataFrame) -> str:
    """What the regulariser and augmentation changed (means over seeds), in words, for the notebook."""
    arch = cfg.regularised
    r = (
        runs[runs["arch"] == arch]
        .groupby("method")[["sensitivity", "noise_acc", "corrupt_acc", "test_acc", "shop", "shpred"]]
        .mean()
    )
    if "plain" not in r.index or len(r) < 2:
        return f"Only plain training of the {NAMES[arch]} was run."
    b = r.loc["plain"]
    lines = []
    for m in [m for m in ("reg", "aug") if m in r.index]:
        x = r.loc[m]
        name = {"reg": "the regulariser", "aug": "noise augmentation"}[m]
        lines.append(
            f"With {name} the {NAMES[arch]}'s sensitivity {_change(b.sensitivity, x.sensitivity)}; its accuracy "
            f"under the noise corruptions {_change(b.noise_acc, x.noise_acc)}, under all corruptions "
            f"{_change(b.corrupt_acc, x.corrupt_acc)}, on clean test images {_change(b.test_acc, x.test_acc)}; ShOp "
            f"{_change(b.shop, x.shop)}, ShPred {_change(b.shpred, x.shpred)} (means over seeds)."
        )
    return " ".join(lines)


# --------------------------------------------------------------------------------------------------
# Claims


def _values(runs: pd.DataFrame, arch: str, method: str, col: str) -> pd.Series:
    r = runs[(runs["arch"] == arch) & (runs["method"] == method)].sort_values("seed")
    return r.set_index("seed")[col].astype(float)


def _setting(cfg: VisionConfig, runs: pd.DataFrame) -> str:
    """How this run differs from V25's, appended to the note of a claim that fails."""
    return (
        f"V25's numbers come from Fashion-MNIST and CIFAR-10 models trained for many epochs; here "
        f"{int(runs['n_train'].iloc[0]):,} {cfg.dataset} training images, each run stopped at "
        f"{cfg.target_acc:.0%} training accuracy (at most {cfg.epochs} epochs), {cfg.seeds} seed(s)"
    )
