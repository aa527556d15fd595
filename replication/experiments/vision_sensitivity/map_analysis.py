"""The readings map's tables and claims: V25's headline comparisons under every reading of the noise (:mod:`.readings`).

:func:`map_long` gathers every stored measure of the map (:mod:`.readings_map`): one row per (model, seed, point,
noise, perturbation). :func:`map_grid` puts a reading on each: per (reading, comparison) the ViT's and the other
model's mean sensitivity over seeds, their ratio and the one-sided Welch t-test over seeds that the ViT is below.
:func:`map_claims` judges V25's headline comparisons under the paper's reading and under the released code's (diagnoses:
the paper claims of these comparisons are the chapter's own rows), counts the readings under which each holds, and
names the axis whose change alone flips the most verdicts.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ...report.empty import table_when_run
from ...report.claims import ALPHA
from ...report.stats import welch_p
from ...runs.store import Store
from ...runs.stored import stored_results, stored_sentence
from .analysis import NAMES
from .binary import BinaryRun
from .measure import measure_vision
from .readings import AXES, READINGS, Reading, level_of, map_readings
from .readings_map import KIND, map_pixel_std, map_rerun_runs, map_runs, measure_map
from .runs import KIND as VISION_KIND
from .config import PATCH, VisionConfig


VIT, MLP, CNN = NAMES["vit"], NAMES["mlp"], NAMES["cnn"]
NOPN, ADAM = NAMES["vit_nopn"], f"{NAMES['vit']} (Adam)"
#: The comparisons of the map: (experiment, point, the ViT, the other model). The first three are V25's headline.
COMPARISONS = [
    ("binary", "matched", VIT, MLP),
    ("ten-class", "end", VIT, CNN),
    ("ten-class", "end", VIT, MLP),
    ("binary", "end", VIT, MLP),
    ("binary", "matched", NOPN, MLP),
    ("binary", "end", NOPN, MLP),
    ("binary", "matched", ADAM, MLP),
    ("binary", "end", ADAM, MLP),
]
HEADLINE = COMPARISONS[:3]
POINTS = {"matched": "matched training accuracy", "end": "end of the budget"}


def comparison_label(c) -> str:
    experiment, point, a, b = c
    return f"{experiment}, {'matched acc.' if point == 'matched' else 'end'}: {a} < {b}"


def _model(run) -> str:
    if isinstance(run, BinaryRun):
        return ADAM if run.optimizer == "adam" else NAMES[run.arch]
    return NAMES[run.arch]


def map_long(cfg: VisionConfig, cache: Store | None = None) -> pd.DataFrame:
    """Every stored measure of the map: experiment, model, seed, point ("end" or "matched"), epoch, sigma,
    perturb, sensitivity, seconds (the measure's cost: the map's share of a rerun's, the post-hoc measure's)."""
    store = cache if cache is not None else Store(scale=cfg.scale)
    rows = []
    for group in ("binary", "ten", "variants"):
        runs = map_runs(cfg, group)
        if not runs:  # a group this configuration does not measure (e.g. no variants, or no ten-class models)
            continue
        kept, results, _ = stored_results(runs, functools.partial(measure_map, store=store), KIND, store)
        for r, res in zip(kept, results):
            key = {
                "experiment": "binary" if isinstance(r.run, BinaryRun) else "ten-class",
                "model": _model(r.run),
                "seed": r.run.seed,
                "point": "end" if r.checkpoint == "final" else "matched",
                "epoch": res.get("epoch"),
                "images": r.n_images,
                "seconds": res["measure_seconds"],
            }
            rows += [{**key, **m} for m in res["measures"]]
    kept, results, _ = stored_results(map_rerun_runs(cfg), measure_vision, VISION_KIND, store)
    for r, res in zip(kept, results):
        for m in res.get("map", []):
            point = "end" if m["checkpoint"] == "final" else "matched"
            rows.append(
                {"experiment": "ten-class", "model": NAMES[r.arch], "seed": r.seed, "point": point,
                 "images": r.map_images, "train_seconds": res["train_seconds"], **m}
            )  # fmt: skip
    cols = ["experiment", "model", "seed", "point", "epoch", "images", "sigma", "perturb", "sensitivity"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


def map_status(cfg: VisionConfig, long: pd.DataFrame) -> str:
    """One sentence: how many of the map's measured models are stored."""
    total = sum(len(map_runs(cfg, g)) for g in ("binary", "ten", "variants")) + 2 * len(map_rerun_runs(cfg))
    have = len(long.drop_duplicates(["experiment", "model", "seed", "point"])) if len(long) else 0
    return stored_sentence(have, total, "models measured under every reading (a rerun counts twice: two points)")


def at_reading(long: pd.DataFrame, r: Reading, pixel_std: float, patch: int = PATCH["mnist"]) -> pd.DataFrame:
    """The rows of ``long`` that measure reading ``r`` (its noise and perturbation, :func:`.readings.level_of`)."""
    sigma, perturb = level_of(r, pixel_std, patch)
    return long[np.isclose(long["sigma"].astype(float), sigma) & (long["perturb"] == perturb)]


def compare(at: pd.DataFrame, c) -> dict:
    """One comparison ``c`` at one reading: means, ratio, seeds and the one-sided Welch p that the ViT is below."""
    experiment, point, a, b = c
    sel = at[(at["experiment"] == experiment) & (at["point"] == point)]
    va = sel.loc[sel["model"] == a, "sensitivity"].to_numpy(float)
    vb = sel.loc[sel["model"] == b, "sensitivity"].to_numpy(float)
    n = min(len(va), len(vb))
    ma, mb = (float(va.mean()) if len(va) else np.nan), (float(vb.mean()) if len(vb) else np.nan)
    p = float(np.nan_to_num(welch_p(va, vb), nan=1.0)) if n >= 2 else np.nan
    ratio = ma / mb if mb > 0 else (np.inf if ma > 0 else np.nan)
    return {"vit": ma, "other": mb, "ratio": ratio, "p": p, "seeds": n, "holds": bool(n >= 2 and p < ALPHA)}


def map_grid(cfg: VisionConfig, long: pd.DataFrame) -> pd.DataFrame:
    """One row per (reading of the map, comparison with two seeds or more of each model): the reading's axes and
    name, the comparison, the means, ratio, seeds, p and verdict (:func:`compare`)."""
    std, rows = map_pixel_std(cfg), []
    if long.empty:
        return pd.DataFrame()
    for r in map_readings(cfg.map_grid):
        at = at_reading(long, r, std)
        names = [k for k, v in READINGS.items() if v == r]
        for c in COMPARISONS:
            res = compare(at, c)
            if res["seeds"] >= 2:
                rows.append({"reading": r.label, "named": names[0] if names else "", **vars_of(r),
                             "comparison": comparison_label(c), **res})  # fmt: skip
    return pd.DataFrame(rows)


def vars_of(r: Reading) -> dict:
    return {a: getattr(r, a) for a in AXES}


@table_when_run
def map_table(grid: pd.DataFrame) -> pd.DataFrame:
    """The map as a table: per reading (rows) and comparison (columns), the ratio of the ViT's mean sensitivity to
    the other model's, with ``*`` where the one-sided test over seeds holds."""
    if grid.empty:
        return pd.DataFrame()
    cell = grid["ratio"].map(lambda x: f"{x:.2f}") + np.where(grid["holds"], " *", "")
    t = grid.assign(cell=cell).pivot(index="reading", columns="comparison", values="cell")
    order = list(dict.fromkeys(grid["reading"]))
    cols = [comparison_label(c) for c in COMPARISONS if comparison_label(c) in t.columns]
    return t.reindex(index=order, columns=cols)


def axis_flips(grid: pd.DataFrame) -> pd.DataFrame:
    """Per (named reading, axis): of the (headline comparison, other value of the axis) pairs with both readings
    measured, how many change the verdict when that axis alone changes from the named reading."""
    heads = {comparison_label(c) for c in HEADLINE}
    g = grid[grid["comparison"].isin(heads)] if len(grid) else grid
    verdict = {(row.reading, row.comparison): row.holds for row in g.itertuples()}
    rows = []
    for named, base in READINGS.items():
        for axis, values in AXES.items():
            flips = tested = 0
            for v in values:
                if v == getattr(base, axis):
                    continue
                other = Reading(**{**vars_of(base), axis: v})
                for comp in heads:
                    a, b = verdict.get((base.label, comp)), verdict.get((other.label, comp))
                    if a is not None and b is not None:
                        tested, flips = tested + 1, flips + (a != b)
            rows.append({"from": named, "axis": axis, "changes tested": tested, "verdicts flipped": flips})
    return pd.DataFrame(rows).set_index(["from", "axis"])


def readings_table(cfg: VisionConfig) -> pd.DataFrame:
    """Every reading of the map with the noise it adds on the models' standardised pixels (:func:`.readings.
    noise_sigma`) and how many of the map's readings share its (noise, perturbation) measure."""
    std, rs = map_pixel_std(cfg), map_readings(cfg.map_grid)
    levels = [level_of(r, std, PATCH["mnist"]) for r in rs]
    names = {v: k for k, v in READINGS.items()}
    return pd.DataFrame(
        [
            {"reading": r.label, "named": names.get(r, ""), **vars_of(r), "sigma (standardised)": lv[0],
             "readings sharing the measure": levels.count(lv)}
            for r, lv in zip(rs, levels)
        ]
    ).set_index("reading")  # fmt: skip


def map_settings(cfg: VisionConfig, long: pd.DataFrame) -> pd.DataFrame:
    """The map's choices beside V25's, with what each cost in the stored measures (one thread)."""
    rs = map_readings(cfg.map_grid)
    n_levels = len({level_of(r, map_pixel_std(cfg), PATCH["mnist"]) for r in rs})
    cost = ""
    if len(long) and "seconds" in long:
        one = long.dropna(subset=["seconds"]).drop_duplicates(["experiment", "model", "seed", "point"])
        c = one.groupby(["experiment", "model"])["seconds"].agg(["mean", "sum"])
        cost = (f"all {n_levels} measures of one stored model, mean (sum): "
                + "; ".join(f"{e} {m} {r['mean']:.0f} s ({r['sum'] / 60:.0f} min)" for (e, m), r in c.iterrows())
                + "; wall clock, one thread, on a shared 2-core machine")  # fmt: skip
    train = ""
    if len(long) and "train_seconds" in long:
        t = long.dropna(subset=["train_seconds"]).drop_duplicates(["model", "seed"]).groupby("model")["train_seconds"]
        train = "training and per-epoch evaluation per rerun (wall clock), mean (sum): " + "; ".join(
            f"{m} {s:.0f} s ({n / 60:.0f} min)" for (m, s), n in zip(t.mean().items(), t.sum())
        )
    b, t = map_runs(cfg, "binary"), map_rerun_runs(cfg)
    rows = [
        ("readings", "a variance per data set (Fashion-MNIST 5, CIFAR-10 1), scale and perturbation not stated; "
         "the released code: a std on [−1, 1] pixels, scattered pixels",
         f"{len(rs)} readings ({cfg.map_grid}: each named reading and every reading one axis away), "
         f"{n_levels} distinct (noise, perturbation) measures", ""),
        ("images, draws", "about 30 % of the training images, 5 draws (App. D)",
         f"binary: {b[0].n_images if b else '–'} training images; ten-class: "
         f"{t[0].map_images if t else '–'}; {cfg.repeats} draws per patch (token) or per image (scattered)", cost),
        ("models", "–", f"binary ViT and MLP at the end and at training accuracy ≥ {cfg.binary_levels[-1]:g} "
         f"({cfg.map_seeds} seeds; stored weights); ten-class ViT at the end (stored weights); ten-class MLP and "
         f"CNN trained again ({len(t) // 2 if t else 0} seeds each), measured at the end and at their highest level",
         train),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["setting", "V25", "this book", "measured cost"]).set_index("setting")


def describe_map(grid: pd.DataFrame) -> str:
    """The map in words: each headline comparison's verdict under the two named readings, how many readings it
    holds under, and the axis whose change alone flips the most verdicts."""
    if grid.empty:
        return "Too few measures of the map are stored to describe."
    parts = []
    for c in HEADLINE:
        rows = grid[grid["comparison"] == comparison_label(c)]
        if rows.empty:
            continue
        named = [
            f"{'holds' if h.holds else 'fails'} under the {h.named}'s reading (ratio {h.ratio:.2f})"
            for h in rows[rows["named"] != ""].itertuples()
        ]
        parts.append(
            f"*{comparison_label(c)}* {' and '.join(named) or 'is not measured under a named reading'}; "
            f"it holds under {int(rows['holds'].sum())} of the {len(rows)} readings measured."
        )
    flips = axis_flips(grid)
    if flips["changes tested"].sum():
        for named, axes in deciding_axes(flips).items():
            parts.append(f"From the {named}'s reading, " + (
                f"changing the {' or the '.join(axes)} alone flips the most verdicts "
                f"({int(flips.loc[(named, axes[0]), 'verdicts flipped'])} of "
                f"{int(flips.loc[(named, axes[0]), 'changes tested'])})." if axes else "no single change flips a verdict."
            ))  # fmt: skip
    return " ".join(parts)


def describe_reruns(cfg: VisionConfig, same: pd.DataFrame) -> str:
    """Whether the map's reruns (``same``: :func:`.pixel.reproduced` of them) gave their first runs' numbers."""
    from .pixel import DIFFS

    n = len(map_rerun_runs(cfg))
    if same.empty:
        return f"None of the {n} reruns of the map has a stored first run to compare with at this scale."
    worst = same[DIFFS].max(axis=1)
    if (worst == 0).all():
        return (
            f"All {len(same)} stored reruns (of {n}) gave their first runs' numbers exactly: every epoch's accuracies, "
            "loss and sensitivity estimate, every checkpoint's sensitivity and the final sensitivity."
        )
    return (
        f"{int((worst > 0).sum())} of {len(same)} stored reruns differ from their first runs (largest difference "
        f"{worst.max():.3g}); their map measures are of further runs of the same settings."
    )


def deciding_axes(flips: pd.DataFrame) -> dict[str, list[str]]:
    """Per named reading, the axes that flip the most verdicts (none where no change flips one)."""
    out = {}
    for named in READINGS:
        f = flips.loc[named, "verdicts flipped"]
        out[named] = f[f == f.max()].index.tolist() if f.max() > 0 else []
    return out


#: :func:`axis_flips` for display: a "not run" line where the map is empty.
axis_flips_table = table_when_run(axis_flips)
