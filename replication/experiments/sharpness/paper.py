"""Chapter 05 at the paper's settings: the `paper` runs committed under ``results/paper/`` (made on a GPU
with ``python -m replication.make``), read by the book at any scale and shown as far as they go.

A partial sweep is shown for what it holds: every table counts the runs stored against the paper's grid,
and the claims computed on it say in their note how partial it was. Nothing here trains.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from ...report.claims import Claim
from ...runs.stored import read_stored
from .claims import claims
from ...runs.encoder.config import PRESETS, run_configs
from ...runs.encoder.sweep import KIND, annotate

#: The device the `paper` runs were computed on (part of every run's key).
PAPER_DEVICE = "cuda"


def read_paper(cache=None) -> tuple[pd.DataFrame, int]:
    """The stored `paper` runs of the main sweep (annotated like :func:`~.sweep.run_main`'s) and how many
    runs the paper's grid has."""
    runs = run_configs(PRESETS["paper"])
    df = read_stored(KIND, runs, cache=cache, device=PAPER_DEVICE)
    return (annotate(df) if len(df) else df), len(runs)


def paper_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Stored and kept runs per function against the paper's grid (10 seeds × n = 4–30 each)."""
    cfg = PRESETS["paper"]
    grid = pd.Series({f: len(cfg.ns) * cfg.seeds for f in cfg.functions}, name="grid")
    if not len(df):
        return pd.DataFrame({"grid": grid, "stored": 0, "kept": 0, "longest n stored": None}).rename_axis("function")
    g = df.groupby("function")
    out = pd.DataFrame({"grid": grid, "stored": g.size(), "kept": g["kept"].sum(), "longest n stored": g["n"].max()})
    out = out.reindex(list(cfg.functions))
    out[["stored", "kept"]] = out[["stored", "kept"]].fillna(0).astype(int)
    return out.rename_axis("function")


def paper_claims(df: pd.DataFrame, total: int) -> list[Claim]:
    """Chapter 05's claims on the stored `paper` runs (none if none is stored), each linked to the section that
    shows those runs; a partial sweep says so."""
    if not len(df):
        return []
    out = [dataclasses.replace(c, section="At the paper's settings") for c in claims(PRESETS["paper"], df, None)]
    if len(df) < total:
        counts = paper_counts(df)
        have = ", ".join(f"{f.upper()} {s}/{g}" for f, s, g in zip(counts.index, counts["stored"], counts["grid"]))
        note = f"; partial paper sweep: {len(df)} of {total} runs stored ({have})"
        out = [dataclasses.replace(c, note=c.note + note) for c in out]
    return out


def describe_paper(df: pd.DataFrame, total: int) -> str:
    """Where the `paper` rows stand, in words."""
    if not len(df):
        return (
            "No `paper`-scale run of this chapter is committed yet: the paper's grid needs a GPU "
            "(`python -m replication.make --scale paper --chapter 05`, or `make results SCALE=paper CHAPTER=05`)."
        )
    kept = int(df["kept"].sum())
    fns = ", ".join(f.upper() for f in dict.fromkeys(df["function"]))
    return (
        f"{len(df)} of the paper grid's {total} runs are committed ({fns}), computed on "
        f"{df['machine'].dropna().iloc[0] if df['machine'].notna().any() else 'an unrecorded machine'}; "
        f"{kept} of them converged. The claims below are computed on them at the paper's settings and appear "
        "in the scorecard as `paper` rows."
    )
