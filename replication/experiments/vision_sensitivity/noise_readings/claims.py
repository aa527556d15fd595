"""The claims of V25's noise under every reading: the headline comparisons under the paper's and the released
code's reading, the count of readings under which each holds, the deciding axis, and V25's variances read on
[0, 1] pixels."""

from __future__ import annotations


import numpy as np
import pandas as pd

from ....report.claims import ALPHA, Claim, claims_for, fmt
from ..fixed import PLAIN
from ..map_analysis import HEADLINE, POINTS, axis_flips, comparison_label, deciding_axes
from ..pixel import BINARY, pixel_multiples
from ..readings_map import map_pixel_std
from ..config import PATCH
from ..ten_class.claims import below_others
from ..readings import AXES, READINGS, level_of
from ..config import VisionConfig

CLAIM = claims_for(__name__)

#: The section of the page that shows this module's claims (each claims row links to it).
SECTION = "V25's noise, read every way: the readings map"

#: The section of the page that shows the sweeps at V25's variances read on [0, 1] pixels.
PIXEL_SECTION = "V25's variances read on [0, 1] pixels"


def _base(c, named: str, cfg) -> dict:
    experiment, point, a, b = c
    r = READINGS[named]
    return dict(
        section=SECTION,
        claim=f"{a} less sensitive than {b} ({experiment} MNIST, {POINTS[point]}), under the {named}'s reading "
        f"of V25's noise ({r.label})",
        paper_ref="V25 §5, App. A.1, App. D, Def. 4.1" + ("; released cifar/cifar_sens.py" if named != "paper" else ""),
        paper_value="ViT least sensitive",
        scale=cfg.scale,
    )


def map_claims(cfg: VisionConfig, grid: pd.DataFrame) -> list[Claim]:
    """The headline comparisons under each named reading, one count over the map's readings per comparison, and the
    axis that decides the order: all diagnoses. The paper claims of these comparisons are the chapter's own rows,
    measured under the paper's reading on the chapter's full sample (the binary experiment's and the fixed budget's
    claims); counted again here they would count one paper claim twice."""
    if not cfg.map_seeds:
        return []
    out = []
    for c in HEADLINE:
        label = comparison_label(c)
        rows = grid[grid["comparison"] == label] if len(grid) else grid
        for named, r in READINGS.items():
            base = _base(c, named, cfg)
            hit = rows[rows["reading"] == r.label] if len(rows) else rows
            if hit.empty:
                out.append(
                    CLAIM.untestable(
                        **base, kind="diagnosis", why="fewer than 2 stored seeds of each model under this reading"
                    )
                )
                continue
            h = hit.iloc[0]
            out.append(
                CLAIM(**base, kind="diagnosis",
                      measured=f"{fmt(h.vit)} vs {fmt(h.other)} (ratio {h.ratio:.2f})", holds=bool(h.holds),
                      note=f"one-sided Welch t-test over {h.seeds} seeds per model: p = {fmt(h.p)} "
                      f"(holds if < {ALPHA}); noise {level_of(r, map_pixel_std(cfg), PATCH['mnist'])[0]:g} "
                      "standardised units; the readings map shows every other reading.")
            )  # fmt: skip
        count = dict(section=SECTION, claim=f"{label}: holds under most readings of V25's noise in the map",
                     paper_ref="V25 §5, App. A.1, App. D", paper_value="ViT least sensitive", scale=cfg.scale,
                     kind="diagnosis")  # fmt: skip
        if rows.empty:
            out.append(CLAIM.untestable(**count, why="no reading has 2 stored seeds of each model"))
        else:
            k, n = int(rows["holds"].sum()), len(rows)
            out.append(CLAIM(**count, measured=f"{k} of {n} readings", holds=k > n / 2,
                             note="readings: " + "; ".join(f"{'✓' if x.holds else '✗'} {x.reading}"
                                                           for x in rows.itertuples())))  # fmt: skip
    out.append(axis_claim(cfg, grid))
    return out


def axis_claim(cfg: VisionConfig, grid: pd.DataFrame) -> Claim:
    """Which axis decides the order: from each named reading, the axis whose change alone flips the most verdicts of
    the headline comparisons; holds if, from each, exactly one axis does and it flips at least one."""
    flips = axis_flips(grid)
    top = deciding_axes(flips) if len(flips) and flips["changes tested"].sum() else {}
    named = "; ".join(f"from the {k}'s reading: {' / '.join(v) or 'none'}" for k, v in top.items())
    base = dict(section=SECTION, claim="Diagnosis: one axis of the reading of V25's noise, changed alone, decides the order of the "
                f"headline comparisons ({named or 'not measured'})",
                paper_ref="V25 §5, App. D (noise stated as a variance, scale and perturbation left open)",
                paper_value="not stated", scale=cfg.scale, kind="diagnosis")  # fmt: skip
    if not top:
        return CLAIM.untestable(**base, why="no change of one axis has both readings measured")
    holds = all(len(v) == 1 for v in top.values())
    cell = flips.apply(lambda r: f"{int(r['verdicts flipped'])}/{int(r['changes tested'])}", axis=1)
    measured = "; ".join(f"{k}: " + ", ".join(f"{a} {cell[(k, a)]}" for a in AXES) for k in READINGS)
    note = ("verdicts flipped by changing each axis alone from each named reading, out of the changes with both "
            "readings measured (headline comparisons, one-sided Welch t-tests over seeds)")  # fmt: skip
    return CLAIM(**base, measured=measured, holds=holds, note=note)


def _seeds_at(d: pd.DataFrame, ratio: float, models: list[str]) -> int:
    """The fewest seeds any of ``models`` has at ``ratio``."""
    g = d[np.isclose(d["ratio"], ratio)]
    return int(g.groupby("model")["seed"].nunique().reindex(models).fillna(0).min())


def pixel_claim(
    cfg: VisionConfig,
    levels: pd.DataFrame,
    multiples: dict[str, float],
    models: list[str] = PLAIN,
    where: str = "10-class MNIST, fixed budget",
) -> Claim:
    """A diagnosis of the failing orderings: at the multiples of sigma where V25's variances land if they refer to
    [0, 1] pixels, the ViT (``models[0]``) is below each other model (:func:`..ten_class.claims.below_others` at each
    multiple; holds if every p-value is below ``ALPHA``). ``levels`` may hold other levels too: at the chapter's
    sigma (1) they say whether the ordering fails there, which the note then says the noise scale explains."""
    others = " and the ".join(models[1:])
    base = dict(
        section=PIXEL_SECTION,
        claim=f"Diagnosis ({where}): at the noise V25's variances give on [0, 1] pixels, "
        f"the ViT is less sensitive than the {others}",
        paper_ref="V25 §5, App. A.1, App. D (variances given; their pixel scale is not stated)",
        paper_value="ViT least sensitive",
        scale=cfg.scale,
        kind="diagnosis",
    )
    d = levels[levels["model"].isin(models)] if len(levels) else pd.DataFrame(columns=["model", "seed", "ratio"])
    n = min(_seeds_at(d, r, models) for r in multiples.values())
    if n < 2:
        return CLAIM.untestable(
            **base, why="fewer than 2 stored models of each kind measured at each pixel-scale level"
        )
    tests = {r: below_others(d[np.isclose(d["ratio"], r)], models) for r in multiples.values()}
    holds = all(p < ALPHA for p, _ in tests.values())
    note = (
        f"check: at least {n} seeds per model at each multiple; one-sided Welch t-tests that the ViT is below "
        f"the {others}, the larger p: {', '.join(f'{fmt(p)} at {r:g} × sigma' for r, (p, _) in tests.items())} "
        f"(holds if all < {ALPHA}). The multiples are {'; '.join(f'{k}: {v:g} × sigma' for k, v in multiples.items())}, "
        "computed from the training images. The readings map judges the same comparisons under every reading of "
        "V25's noise, the released code's (scattered pixels, a std on [−1, 1] pixels) among them."
    )
    if _seeds_at(d, 1.0, models) >= 1:
        _, at_one = below_others(d[np.isclose(d["ratio"], 1.0)], models)
        if holds and at_one[0] >= min(at_one[1:]):
            note += (
                f" At the chapter's sigma the ViT is not the least sensitive ({'/'.join(fmt(x) for x in at_one)}); "
                "so the noise scale explains the ordering that fails there."
            )
    measured = "; ".join(f"{r:g}×: " + "/".join(fmt(x) for x in means) for r, (_, means) in tests.items())
    return CLAIM(**base, measured="/".join(models) + " at " + measured, holds=holds, note=note)


def pixel_claims(
    cfg: VisionConfig,
    flevels: pd.DataFrame,
    blevels: pd.DataFrame,
    grid: pd.DataFrame | None = None,
    matched_grid: pd.DataFrame | None = None,
) -> list[Claim]:
    """The pixel-scale diagnosis for the 10-class models (``flevels``: :func:`all_levels`) and for the binary
    experiment's at the end of its budget and, with ``posthoc_matched``, at matched accuracy (``blevels``:
    :func:`.posthoc_analysis.level_table`; ``grid`` and ``matched_grid``, their full sweeps, for the chapter's sigma)."""
    if not cfg.pixel_seeds:
        return []
    out = [pixel_claim(cfg, flevels, pixel_multiples(cfg))] if cfg.fixed_seeds else []
    if not cfg.binary_seeds:
        return out
    mult = pixel_multiples(cfg, binary=True)
    points = [("final", "end of the budget", grid)] + (
        [("acc", "matched training accuracy", matched_grid)] if cfg.posthoc_matched else []
    )
    for point, where, full in points:
        b = blevels[blevels["checkpoint"].str.startswith(point)] if len(blevels) else blevels
        b = pd.concat([b, full], ignore_index=True) if full is not None and len(full) else b
        out.append(pixel_claim(cfg, b, mult, BINARY, f"binary MNIST, {where}"))
    return out
