"""Committed results: where every chapter's expensive numbers come from, and a record of it.

Training is computed once and committed under ``results/<scale>/<kind>/`` in the cache's safe format
(:mod:`replication.runs.cache`: JSON, plus safetensors for model weights), each entry with its provenance:
config, package version and commit, scale, date, machine, device and wall time. A fresh clone's book
build reads them instead of training. :class:`Store` looks a result up in this order:

1. the committed results (``results/<scale>/``, every scale folder; a key names one config exactly);
2. this machine's results cache (``$REPLICATION_CACHE`` or ``_cache/``);
3. otherwise it computes the result and saves it, with its provenance.

``$REPLICATION_RESULTS`` sets the mode:

- ``auto`` (default): as above; what is computed goes to the local cache. A papermill run whose
  settings match a committed result reads it.
- ``require`` (the book build at ``cpu`` scale): a result missing from ``results/`` stops the build
  before any work, naming the ``make results`` command that computes it. Nothing is trained silently,
  and a committed result whose config or code version no longer matches is never used (its key differs).
- ``write`` (``make results``): look up and compute as in ``auto`` but read and write ``results/<scale>/``
  only (not the local cache), one entry per run as each finishes, so a long sweep lands in parts and
  resumes where it stopped. After each sweep the kind's entries are also written as one tidy CSV table,
  ``results/<scale>/<kind>.csv``.
- ``off`` (the tests): never read or write ``results/``.

``$REPLICATION_RESULTS_DIR`` moves the ``results/`` folder (tests, or a comparison run).

Every lookup is logged in this process (:data:`ORIGINS`); :mod:`replication.report.status` turns the log
into the sentence each chapter shows above its first figure and the record the status page reads.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pandas as pd

from ..paths import REPO
from .cache import Cache, _atomic_write
from .chapters import KIND_CHAPTER
from .config import resolve_scale
from .provenance import provenance


RESULTS_ENV = "REPLICATION_RESULTS"


RESULTS_DIR_ENV = "REPLICATION_RESULTS_DIR"
#: If set, a file to which every committed entry a process reads is appended as ``<kind>/<key>.json`` (one
#: line each): what ``make results-check`` samples from, so a sampled entry is one the chapter reads.
READ_LOG_ENV = "REPLICATION_READ_LOG"


MODES = ("auto", "require", "write", "off")


#: This process's lookups: one dict per result (kind, source, scale, computed_at, seconds).
ORIGINS: list[dict] = []


class ResultsMissing(RuntimeError):
    """The book build needs a committed result that is not there (or no longer matches the code)."""


def results_dir() -> Path:
    return Path(os.environ.get(RESULTS_DIR_ENV) or REPO / "results")


def mode() -> str:
    m = os.environ.get(RESULTS_ENV) or "auto"
    if m not in MODES:
        raise ValueError(f"${RESULTS_ENV}: must be one of {list(MODES)}, got {m!r}")
    return m


class Store:
    """Committed results, then the local cache, then compute (see the module docstring).

    It offers the :class:`~replication.runs.cache.Cache` calls the chapters use (``load``, ``save``,
    ``get_or_compute``, ``contains``), so a chapter passes a ``Store`` wherever it passed a cache.
    """

    def __init__(
        self,
        cache: Cache | str | Path | None = None,
        results: str | Path | None = None,
        mode_: str | None = None,
        scale: str | None = None,
    ):
        self.mode = mode_ or mode()
        if self.mode not in MODES:
            raise ValueError(f"mode: must be one of {list(MODES)}, got {self.mode!r}")
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.results_root = Path(results) if results is not None else results_dir()
        self.scale = resolve_scale(scale)

    # where things are
    @property
    def target(self) -> Cache:
        """Where a newly computed result is saved."""
        return Cache(self.results_root / self.scale) if self.mode == "write" else self.cache

    @property
    def root(self) -> Path:
        return self.target.root

    def committed(self) -> list[Cache]:
        """The ``results/<scale>/`` folders to read from (only this scale's in ``write`` mode)."""
        if self.mode == "off":
            return []
        if self.mode == "write":
            return [self.target]
        return [Cache(p) for p in sorted(self.results_root.glob("*")) if p.name in ("ci", "cpu", "paper")]

    # lookups
    def find(self, kind: str, config: Any) -> tuple[dict | None, str]:
        """``(entry, source)`` with source ``"results"`` or ``"cache"``; ``(None, "missing")``."""
        for c in self.committed():
            if c.contains(kind, config):
                entry = c.load_entry(kind, config)
                if entry is not None:
                    if os.environ.get(READ_LOG_ENV):
                        with open(os.environ[READ_LOG_ENV], "a") as f:
                            f.write(f"{c.path(kind, config).relative_to(c.root)}\n")
                    return entry, "results"
        if self.mode in ("auto", "off"):
            entry = self.cache.load_entry(kind, config)
            if entry is not None:
                return entry, "cache"
        return None, "missing"

    def load(self, kind: str, config: Any) -> Any | None:
        entry, source = self.find(kind, config)
        if entry is None:
            return None
        log_origin(kind, source, entry.get("provenance", {}))
        return entry["result"]

    def contains(self, kind: str, config: Any) -> bool:
        return self.find(kind, config)[0] is not None

    def require(self, kind: str, configs: list, needed: int | None = None) -> None:
        """In ``require`` mode, stop before any work if a result of ``configs`` is not committed.

        ``needed``: how many results the caller needs in all (``configs`` may be only the missing ones).
        """
        if self.mode != "require":
            return
        missing = [c for c in configs if not any(r.contains(kind, c) for r in self.committed())]
        if not missing:
            return
        stored = sum(len(r.entries(kind)) for r in self.committed())
        chapter = KIND_CHAPTER.get(kind)
        cmd = f"make results CHAPTER={chapter}" if chapter else "make results"
        why = (
            f"results/ holds {stored} other `{kind}` entries: the code, its version or the chapter's settings "
            "changed since they were computed"
            if stored
            else f"results/ holds no `{kind}` entries"
        )
        raise ResultsMissing(
            f"{len(missing)} of {needed or len(configs)} `{kind}` results this chapter needs are not committed ({why}); "
            f"{self._cost(kind, len(missing))}. "
            f"The book build does not train: run `{cmd}` (scale {self.scale}) to compute and commit them, or "
            f"set {RESULTS_ENV}=auto to compute them here."
        )

    def _cost(self, kind: str, runs: int) -> str:
        """Roughly how long ``runs`` results of ``kind`` take, from the committed ones' recorded wall time."""
        times = []
        for c in self.committed():
            table = c.root / f"{kind}.csv"
            if table.exists():
                col = pd.read_csv(table, usecols=lambda k: k == "prov_wall_seconds").squeeze("columns")
                times += [float(t) for t in col.dropna()] if isinstance(col, pd.Series) else []
        if not times:
            return "no committed run of this kind records how long it took"
        total = runs * sum(times) / len(times)
        return (
            f"computing them takes roughly {total / 60:.0f} CPU-minutes (the committed runs' mean, "
            f"{sum(times) / len(times):.0f} s each)"
        )

    def save(self, kind: str, config: Any, result: Any, seconds: float | None = None, device: str = "cpu") -> Path:
        return self.target.save(kind, config, result, provenance(device, seconds, self.scale))

    def get_or_compute(self, kind: str, config: Any, compute: Callable[[], Any]) -> Any:
        """The stored result of ``(kind, config)``, or compute it, save it (with provenance) and log it."""
        hit = self.load(kind, config)
        if hit is not None:
            return hit
        self.require(kind, [config])
        t0 = time.perf_counter()
        result = compute()
        seconds = time.perf_counter() - t0
        self.save(kind, config, result, seconds)
        log_origin(kind, "computed", provenance(seconds=seconds, scale=self.scale))
        return result

    def check_writable(self) -> None:
        if self.mode != "require":
            self.target.check_writable()

    def prune(self, kind: str, keep: list) -> list[str]:
        """In ``write`` mode: remove the stored entries of ``kind`` whose config is not in ``keep`` (configs, or
        sweep keys such as ``{"config": run, "device": "cpu"}``), so that ``results/`` holds only what the
        chapters read after their settings changed; rewrites the kind's table. Returns the removed keys."""
        if self.mode != "write":
            raise ValueError(f"mode: pruning rewrites results/ and needs mode 'write', got {self.mode!r}")
        wanted = {self.target.path(kind, c).stem for c in keep}
        removed = []
        for p in self.target.entries(kind):
            if p.stem not in wanted:
                p.with_suffix(".safetensors").unlink(missing_ok=True)
                p.unlink()
                removed.append(p.stem)
        self.write_table(kind)
        return removed

    def write_table(self, kind: str) -> Path | None:
        """In ``write`` mode: every entry of ``kind`` as one tidy CSV (config, scalar results, provenance)."""
        if self.mode != "write":
            return None
        rows = []
        for p in self.target.entries(kind):
            e = json.loads(p.read_text())
            row = {"key": e["key"], **_flat(e["config"]), **{k: v for k, v in e["result"].items() if _scalar(v)}}
            row.update({f"prov_{k}": v for k, v in e.get("provenance", {}).items()})
            rows.append(row)
        path = self.target.root / f"{kind}.csv"
        _atomic_write(path, lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False))
        return path


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def _flat(config: dict) -> dict:
    """A sweep key ``{"config": {...}, "device": ...}`` as one flat dict of scalars."""
    out = {}
    for k, v in config.items():
        if isinstance(v, dict):
            out.update(_flat(v))
        elif _scalar(v):
            out[k] = v
        else:
            out[k] = json.dumps(v)
    return out


def store(scale: str | None = None) -> Store:
    """The default store for this process (mode from ``$REPLICATION_RESULTS``)."""
    return Store(scale=scale)


def log_origin(kind: str, source: str, prov: dict) -> None:
    ORIGINS.append(
        {
            "kind": kind,
            "source": source,
            "scale": prov.get("scale"),
            "computed_at": prov.get("computed_at"),
            "seconds": prov.get("wall_seconds"),
            "machine": prov.get("machine"),
        }
    )
