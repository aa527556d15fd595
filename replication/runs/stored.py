"""The one reader of a partial set of committed runs, computing nothing it may not: the runs' frame and results,
what is missing, and the one sentence that says how many are stored.

For results computed elsewhere (the `paper` scale's runs, made on a GPU; runs not committed yet) that a book built
on another machine shows as far as they go: a partial sweep gives the rows it has, and the page counts them
(:func:`stored_sentence`).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .cache import Cache
from .store import Store, log_origin
from .sweep import _row, as_store, check_grid, run_key, run_sweep


def read_stored(
    kind: str, configs: Sequence[Any], cache: Store | Cache | None = None, device: str = "cuda"
) -> pd.DataFrame:
    """One row per run of ``configs`` stored under ``kind`` for ``device`` (the columns of
    :func:`~replication.runs.sweep.run_sweep`), in the order of ``configs``; missing runs are left out.

    ``device`` is given, not detected: a result is keyed on the device that computed it, and the `paper`
    runs were computed on CUDA whatever machine reads them.
    """
    store = as_store(cache)
    rows = []
    for c in check_grid(configs):
        entry, source = store.find(kind, run_key(c, device))
        if entry is not None:
            rows.append(_row(c, device, entry["result"], source, entry.get("provenance", {})))
    return pd.DataFrame(rows)


def missing(kind: str, configs: Sequence[Any], cache: Store | Cache | None = None, device: str = "cpu") -> list:
    """The configs of ``configs`` whose results are not stored under ``kind`` for ``device``, in their order."""
    store = as_store(cache)
    return [c for c in configs if store.find(kind, run_key(c, device))[0] is None]


def stored_results(
    configs: Sequence[Any], measure: Callable, kind: str, store: Store, device: str = "cpu"
) -> tuple[list, list[dict], pd.DataFrame | None]:
    """``(configs, results, table)``: the configs whose results this page has, those results, and the sweep's table
    of them (None when read). In ``require`` mode (the book build) the runs not stored for ``device`` are left out
    instead of stopping the build (:func:`missing` names them, :func:`stored_sentence` counts them); otherwise every
    config is computed or read (:func:`~replication.runs.sweep.run_sweep`, one process)."""
    if store.mode == "require":
        present = [(c, e) for c in configs if (e := store.find(kind, run_key(c, device))[0]) is not None]
        for _, e in present:
            log_origin(kind, "results", e.get("provenance", {}))
        return [c for c, _ in present], [e["result"] for _, e in present], None
    table = run_sweep(list(configs), measure, kind, cache=store, n_jobs=1, progress=False)
    device = table["device"].iloc[0] if "device" in table else device
    return list(configs), [store.find(kind, run_key(c, device))[0]["result"] for c in configs], table


def stored_runs(
    configs: Sequence[Any], measure: Callable, kind: str, store: Store, cols: tuple[str, ...], device: str = "cpu"
) -> tuple[pd.DataFrame, list[dict]]:
    """``(runs, results)`` of ``configs`` (:func:`stored_results`): one row per run (the sweep's table; when read,
    its fields ``cols``, ``source`` and its scalar results) and its full result."""
    if not configs:
        return pd.DataFrame(), []
    kept, results, table = stored_results(configs, measure, kind, store, device)
    if table is None:
        table = pd.DataFrame(
            [
                {
                    **{k: getattr(c, k) for k in cols},
                    "source": "results",
                    **{k: v for k, v in res.items() if np.isscalar(v) or v is None},
                }
                for c, res in zip(kept, results)
            ]
        )
    return table, results


def stored_sentence(
    have: int,
    total: int,
    runs: str,
    *,
    detail: str = "",
    read: str = "read",
    stored: str | None = None,
    uses: str = "the tables and claims below",
    seeds: bool = True,
) -> str:
    """The one sentence (Markdown) that says how many of ``total`` ``runs`` (a plural noun phrase, e.g. "runs of
    the binary experiment") a page reads: "All {total} {runs}{detail} are {read} below." when all are stored,
    otherwise "**{Stored} at this scale: {have} of {total}**; {uses} use those" (``stored`` defaults to
    "{runs} stored"), with ", and a claim is not tested with fewer than 2 seeds per model" when ``seeds``."""
    if have >= total:
        return f"All {total} {runs}{detail} are {read} below."
    head = stored if stored is not None else f"{runs} stored"
    tail = ", and a claim is not tested with fewer than 2 seeds per model" if seeds else ""
    return f"**{head[:1].upper()}{head[1:]} at this scale: {have} of {total}**; {uses} use those{tail}."
