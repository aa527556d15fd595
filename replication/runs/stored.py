"""Stored runs read as a sweep would return them, computing nothing: :func:`read_stored`.

For results computed elsewhere (the `paper` scale's runs, made on a GPU) that a book built on another
machine shows as far as they go: a partial sweep gives the rows it has, and the caller counts them.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import pandas as pd

from .cache import Cache
from .store import Store
from .sweep import _row, as_store, check_grid, run_key


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
