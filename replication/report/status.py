"""Where a chapter's results came from (the sentence above its first figure) and the status page's record."""

from __future__ import annotations

import json
import os
import resource
import time
from datetime import datetime, UTC
from pathlib import Path

import pandas as pd

from ..runs.chapters import pages
from ..runs.cache import CacheError, _atomic_write, _dump_json, default_root
from ..runs.provenance import machine
from ..runs.store import ORIGINS
from .text import span


_STARTED = time.time()  # when this process imported the package (used where /proc is missing)


def origins() -> pd.DataFrame:
    """Results looked up in this process: count, sources and dates per (kind, source)."""
    df = pd.DataFrame(ORIGINS, columns=["kind", "source", "scale", "computed_at", "seconds", "machine"])
    if df.empty:
        return df
    return (
        df.groupby(["kind", "source"], sort=False)
        .agg(
            results=("kind", "size"),
            scale=("scale", "first"),
            first=("computed_at", "min"),
            last=("computed_at", "max"),
            machine=("machine", lambda v: tuple(dict.fromkeys(map(str, v)))),
        )
        .reset_index()
    )


_SOURCE_TEXT = {
    "results": "read from the committed `results/` folder",
    "cache": "read from this machine's results cache",
    "computed": "computed in this run",
}


def origin_note() -> str:
    """One Markdown sentence: where this chapter's results came from, at which scale, computed when."""
    o = origins()
    if o.empty:
        return "**Results:** this chapter has no stored results yet: nothing was looked up."
    parts = []
    for source, g in o.groupby("source", sort=False):
        n = int(g["results"].sum())
        first, last = str(g["first"].min())[:10], str(g["last"].max())[:10]
        when = first if first == last else f"{first} to {last}"
        scales = ", ".join(sorted({str(s) for s in g["scale"] if s}))
        parts.append(
            f"{n} {'result' if n == 1 else 'results'} {_SOURCE_TEXT.get(source, source)} "
            f"(scale `{scales}`, computed {when} on {' and '.join(dict.fromkeys(m for t in g['machine'] for m in t))})"
        )
    return "**Where these results come from:** " + "; ".join(parts) + "."


def _process_seconds() -> float:
    """Seconds since this process (a chapter's kernel) started; since the package was imported elsewhere."""
    try:
        after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start = int(after_name[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, in clock ticks
        return float(Path("/proc/uptime").read_text().split()[0]) - start
    except (OSError, ValueError, IndexError):
        return time.time() - _STARTED


def _peak_memory_mb() -> float:
    """Largest resident set of this process or any of its finished worker processes, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024  # Linux reports KiB


def status_dir(root: str | Path | None = None) -> Path:
    return (Path(root) if root is not None else default_root()) / "status"


def write_status(chapter: str, scale: str, root: str | Path | None = None) -> dict:
    """Record this chapter's run for the status page: scale, sources, time, peak memory, finish time."""
    o = origins()
    sources = {s: int(g["results"].sum()) for s, g in o.groupby("source")} if len(o) else {}
    rec = {
        "chapter": chapter,
        "scale": scale,
        "sources": sources,
        "computed_first": None if o.empty else str(o["first"].min()),
        "computed_last": None if o.empty else str(o["last"].max()),
        "seconds": round(_process_seconds(), 1),
        "peak_memory_mb": round(_peak_memory_mb(), 1),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    path = status_dir(root) / scale / f"{chapter}.json"
    try:
        _atomic_write(path, lambda tmp: _dump_json(rec, tmp))
    except CacheError:
        pass  # the status page is informative; a read-only cache must not fail a chapter
    return rec


def _dates(first: str | None, last: str | None) -> str:
    """The days of ``first`` to ``last`` (ISO times), one day where they agree, "—" where nothing was computed."""
    return span([first, last or first] if first else [], fmt=lambda t: t[:10], sep=" to ", empty="—")


def status_table(scale: str, root: str | Path | None = None) -> pd.DataFrame:
    """One row per page (a chapter, or a section of one) that recorded a run at ``scale``, for the status page, in
    reading order (:func:`replication.runs.chapters.pages`)."""
    order = {stem: i for i, stem in enumerate(pages())}
    files = sorted((status_dir(root) / scale).glob("*.json"), key=lambda p: (order.get(p.stem, len(order)), p.stem))
    rows = [json.loads(p.read_text()) for p in files]
    cols = ["chapter", "scale", "results from", "computed", "run time (s)", "peak memory (MiB)", "last ran"]
    if not rows:
        return pd.DataFrame(columns=cols).set_index("chapter")
    out = pd.DataFrame(
        {
            "chapter": [r["chapter"] for r in rows],
            "scale": [r["scale"] for r in rows],
            "results from": [", ".join(f"{n} {s}" for s, n in r["sources"].items()) or "none stored" for r in rows],
            "computed": [_dates(r["computed_first"], r["computed_last"]) for r in rows],
            "run time (s)": [r["seconds"] for r in rows],
            "peak memory (MiB)": [r["peak_memory_mb"] for r in rows],
            "last ran": [r["finished_at"].replace("T", " ")[:16] + " UTC" for r in rows],
        }
    )
    return out[cols].set_index("chapter")
