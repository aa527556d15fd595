"""The committed record of results checks (``results/checks.csv``): one row per ``make results-check`` run with
what it compared and whether it passed (:func:`summarise`, :func:`append_record`), and what a reader rerunning the
book should expect from it (:func:`expectation`, shown on the status page)."""

from __future__ import annotations

from datetime import datetime, UTC
from pathlib import Path

import pandas as pd

from ..paths import REPO

#: The committed record of checks.
RECORD = REPO / "results" / "checks.csv"
RECORD_COLUMNS = [
    "date",
    "chapter",
    "scale",
    "machine",
    "mode",
    "entries",
    "identical",
    "largest_rel_diff",
    "beyond_tolerance",
    "claims",
    "verdicts_changed",
    "passed",
]


def summarise(chapter: str, scale: str, machine: str, mode: str, diffs: pd.DataFrame, verdicts: pd.DataFrame) -> dict:
    """One record of a check: what was compared and whether it passed."""
    entries = diffs["entry"].nunique() if len(diffs) else 0
    identical = diffs.groupby("entry")["identical"].all().sum() if len(diffs) else 0
    beyond = int((diffs["within"] == False).sum()) if len(diffs) else 0  # noqa: E712 (None is not judged)
    changed = int(verdicts["changed"].sum()) if len(verdicts) else 0
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "chapter": chapter,
        "scale": scale,
        "machine": machine,
        "mode": mode,
        "entries": int(entries),
        "identical": int(identical),
        "largest_rel_diff": float(diffs["rel_diff"].max()) if len(diffs) and diffs["rel_diff"].notna().any() else 0.0,
        "beyond_tolerance": beyond,
        "claims": len(verdicts),
        "verdicts_changed": changed,
        "passed": beyond == 0 and changed == 0,
    }


def append_record(row: dict, path: Path = RECORD) -> Path:
    """Add one check to the committed record (a CSV, created with its header if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([row], columns=RECORD_COLUMNS)
    df.to_csv(path, mode="a", header=not path.exists(), index=False)
    return path


def record_table(path: Path = RECORD) -> pd.DataFrame:
    """The record of checks, newest first (empty when none was made)."""
    if not path.exists():
        return pd.DataFrame(columns=RECORD_COLUMNS)
    return pd.read_csv(path).sort_values("date", ascending=False, kind="stable").reset_index(drop=True)


def expectation(record: pd.DataFrame) -> str:
    """What a reader rerunning the book should expect, in Markdown, from the record of checks (the newest check
    of each chapter): how many chapters and entries were re-checked and where, how many entries came out
    bit-identical, how far the others moved, and how many claims changed their verdict."""
    if not len(record):
        return "No check has been recorded yet: `make results-check CHAPTER=NN RECORD=1` adds one."
    last = record.sort_values("date", kind="stable").groupby("chapter", sort=True).tail(1).sort_values("chapter")
    full = last["mode"].astype(str).eq("full")
    machines = sorted(last["machine"].astype(str).unique())
    parts = [
        f"The newest check of each of {len(last)} chapters ({int(full.sum())} in full, {int((~full).sum())} "
        f"sampled) ran on {len(machines)} machine{'s' if len(machines) > 1 else ''} ({'; '.join(machines)}). Of "
        f"their {int(last['entries'].sum())} recomputed entries, {int(last['identical'].sum())} came out "
        f"bit-identical to the committed ones."
    ]
    moved = last[last["largest_rel_diff"] > 0].sort_values("largest_rel_diff")
    if len(moved):
        parts.append(
            "Where a training run was recomputed on other CPU kernels than those that computed it, the run "
            "diverges (training is chaotic at float level): the largest relative difference in any number "
            "of an entry, histories and per-example arrays included, was "
            + ", ".join(f"{v:.2g} ({c})" for c, v in zip(moved["chapter"], moved["largest_rel_diff"]))
            + "."
        )
    changed = last[last["verdicts_changed"] > 0]
    n_changed = int(changed["verdicts_changed"].sum())
    parts.append(
        f"Of {int(last['claims'].sum())} claims judged on the recomputed results, {n_changed} changed "
        f"verdict" + (f" ({', '.join(changed['chapter'])})." if n_changed else ".")
    )
    beyond = last[last["beyond_tolerance"] > 0]
    if len(beyond):
        parts.append(
            "Quantities that moved by more than one seed-to-seed standard deviation of the committed runs: "
            + "; ".join(
                f"{b} in {c} ({m})" for c, b, m in zip(beyond["chapter"], beyond["beyond_tolerance"], beyond["mode"])
            )
            + "."
        )
    parts.append(
        (
            "So a rerun on another machine should reproduce every verdict"
            if not n_changed
            else "So a rerun on another machine should reproduce the verdicts except those named"
        )
        + ", and the numbers to the bit only where the same kernels run; elsewhere expect trained "
        "quantities to land within about their seed-to-seed spread."
    )
    return " ".join(parts)
