"""Committed results: where every chapter's expensive numbers come from, and a record of it.

Training is computed once and committed under ``results/<scale>/<kind>/`` in the cache's safe format
(:mod:`replication.cache`: JSON, plus safetensors for model weights), each entry with its provenance:
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

Every lookup is logged in this process; :func:`origin_note` turns the log into the sentence each chapter
shows above its first figure, and :func:`write_status` into the record the status page reads.
"""
from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .cache import REPO, Cache, CacheError, _atomic_write, _dump_json, default_root
from .config import resolve_scale

RESULTS_ENV = "REPLICATION_RESULTS"
RESULTS_DIR_ENV = "REPLICATION_RESULTS_DIR"
MODES = ("auto", "require", "write", "off")
_STARTED = time.time()  # when this process imported the package (used where /proc is missing)

#: kind -> chapter that computes it (``make results CHAPTER=..`` recomputes it); filled by the chapters.
KIND_CHAPTER: dict[str, str] = {}
#: This process's lookups: one dict per result (kind, source, scale, computed_at, seconds).
ORIGINS: list[dict] = []


class ResultsMissing(RuntimeError):
    """The book build needs a committed result that is not there (or no longer matches the code)."""


def register(kind: str, chapter: str) -> str:
    """Declare that ``chapter`` (e.g. ``"05"``) computes results of ``kind``; returns ``kind``."""
    KIND_CHAPTER[kind] = chapter
    return kind


def results_dir() -> Path:
    return Path(os.environ.get(RESULTS_DIR_ENV) or REPO / "results")


def mode() -> str:
    m = os.environ.get(RESULTS_ENV) or "auto"
    if m not in MODES:
        raise ValueError(f"${RESULTS_ENV}: must be one of {list(MODES)}, got {m!r}")
    return m


# --------------------------------------------------------------------------------------------------
# Provenance


@functools.lru_cache(maxsize=1)
def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "replication"], cwd=REPO,
                               capture_output=True, text=True, timeout=10)  # fmt: skip
        commit = out.stdout.strip() or "unknown"
        return commit + ("+modified" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.lru_cache(maxsize=1)
def machine() -> str:
    """Host, CPU model and core count, e.g. ``"host (Intel Xeon ..., 2 cores)"``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()} ({cpu}, {os.cpu_count()} cores)"


def provenance(device: str = "cpu", seconds: float | None = None, scale: str | None = None) -> dict:
    """Where and how a result was computed (stored in its entry)."""
    import torch

    try:
        version = importlib.metadata.version("replication")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "scale": resolve_scale(scale),
        "computed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": None if seconds is None else round(float(seconds), 3),
        "device": device,
        "machine": machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "package_version": version,
        "commit": _git_commit(),
    }


# --------------------------------------------------------------------------------------------------
# The store


class Store:
    """Committed results, then the local cache, then compute (see the module docstring).

    It offers the :class:`~replication.cache.Cache` calls the chapters use (``load``, ``save``,
    ``get_or_compute``, ``contains``), so a chapter passes a ``Store`` wherever it passed a cache.
    """

    def __init__(self, cache: Cache | str | Path | None = None, results: str | Path | None = None,
                 mode_: str | None = None, scale: str | None = None):  # fmt: skip
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
        why = (f"results/ holds {stored} other `{kind}` entries: the code, its version or the chapter's settings "
               "changed since they were computed" if stored else f"results/ holds no `{kind}` entries")  # fmt: skip
        raise ResultsMissing(
            f"{len(missing)} of {needed or len(configs)} `{kind}` results this chapter needs are not committed ({why}). "
            f"The book build does not train: run `{cmd}` (scale {self.scale}) to compute and commit them, or "
            f"set {RESULTS_ENV}=auto to compute them here."
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


# --------------------------------------------------------------------------------------------------
# Where this chapter's results came from


def log_origin(kind: str, source: str, prov: dict) -> None:
    ORIGINS.append({
        "kind": kind, "source": source, "scale": prov.get("scale"), "computed_at": prov.get("computed_at"),
        "seconds": prov.get("wall_seconds"), "machine": prov.get("machine"),
    })  # fmt: skip


def origins() -> pd.DataFrame:
    """Results looked up in this process: count, sources and dates per (kind, source)."""
    df = pd.DataFrame(ORIGINS, columns=["kind", "source", "scale", "computed_at", "seconds", "machine"])
    if df.empty:
        return df
    return (df.groupby(["kind", "source"], sort=False)
              .agg(results=("kind", "size"), scale=("scale", "first"), first=("computed_at", "min"),
                   last=("computed_at", "max"), machine=("machine", lambda v: tuple(dict.fromkeys(map(str, v)))))
              .reset_index())  # fmt: skip


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
        parts.append(f"{n} {'result' if n == 1 else 'results'} {_SOURCE_TEXT.get(source, source)} "
                     f"(scale `{scales}`, computed {when} on {' and '.join(dict.fromkeys(m for t in g['machine'] for m in t))})")  # fmt: skip
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
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    path = status_dir(root) / scale / f"{chapter}.json"
    try:
        _atomic_write(path, lambda tmp: _dump_json(rec, tmp))
    except CacheError:
        pass  # the status page is informative; a read-only cache must not fail a chapter
    return rec


def status_table(scale: str, root: str | Path | None = None) -> pd.DataFrame:
    """One row per chapter that recorded a run at ``scale``, for the status page."""
    rows = [json.loads(p.read_text()) for p in sorted((status_dir(root) / scale).glob("*.json"))]
    cols = ["chapter", "scale", "results from", "computed", "run time (s)", "peak memory (MiB)", "last ran"]
    if not rows:
        return pd.DataFrame(columns=cols).set_index("chapter")
    out = pd.DataFrame({
        "chapter": [r["chapter"] for r in rows],
        "scale": [r["scale"] for r in rows],
        "results from": [", ".join(f"{n} {s}" for s, n in r["sources"].items()) or "none stored" for r in rows],
        "computed": [_span(r["computed_first"], r["computed_last"]) for r in rows],
        "run time (s)": [r["seconds"] for r in rows],
        "peak memory (MiB)": [r["peak_memory_mb"] for r in rows],
        "last ran": [r["finished_at"].replace("T", " ")[:16] + " UTC" for r in rows],
    })  # fmt: skip
    return out[cols].set_index("chapter")


def _span(first: str | None, last: str | None) -> str:
    if not first:
        return "—"
    a, b = first[:10], (last or first)[:10]
    return a if a == b else f"{a} to {b}"
