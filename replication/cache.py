"""A results cache: one file per computed result, keyed by a hash of the full config.

Each entry's key hashes the experiment kind, every config field and :data:`CODE_VERSION`; bump the
version when a change alters what a cached computation would return. Writes are atomic (temporary
file in the same folder, then ``os.replace``), so an interrupted run never leaves half an entry, and a
rerun finds every entry that finished. An entry that cannot be read is reported, removed and
recomputed.

The folder is ``$REPLICATION_CACHE`` if set, else ``_cache/`` at the repository root.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

#: Bumped whenever a change alters what a cached computation returns.
CODE_VERSION = "1"
CACHE_ENV = "REPLICATION_CACHE"


def default_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / "_cache"
    return Path.home() / ".cache" / "replication"


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)  # 1.0 and 1 name the same setting
    return obj


def config_key(kind: str, config: Any, version: str = CODE_VERSION) -> str:
    """Stable hex key of ``(kind, config, version)``; ``config`` is a dataclass or a dict."""
    payload = json.dumps({"kind": kind, "config": _jsonable(config), "version": version}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Cache:
    """Files under ``root/kind/key.pt``. ``root=None`` uses :func:`default_root`."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def path(self, kind: str, config: Any) -> Path:
        return self.root / kind / f"{config_key(kind, config)}.pt"

    def load(self, kind: str, config: Any) -> Any | None:
        """The stored result, or None when missing or unreadable (an unreadable one is removed)."""
        p = self.path(kind, config)
        if not p.exists():
            return None
        try:
            entry = torch.load(p, map_location="cpu", weights_only=False)
            if not isinstance(entry, dict) or "result" not in entry:
                raise ValueError("not a cache entry")
            return entry["result"]
        except Exception as err:  # noqa: BLE001 - any unreadable entry is recomputed
            warnings.warn(f"cache entry {p} is unreadable ({err!r}); recomputing it", stacklevel=2)
            p.unlink(missing_ok=True)
            return None

    def save(self, kind: str, config: Any, result: Any) -> Path:
        p = self.path(kind, config)
        atomic_save({"kind": kind, "config": _jsonable(config), "version": CODE_VERSION, "result": result}, p)
        return p

    def contains(self, kind: str, config: Any) -> bool:
        return self.path(kind, config).exists()

    def get_or_compute(self, kind: str, config: Any, compute: Callable[[], Any]) -> Any:
        """Return the cached result for ``(kind, config)``, computing and storing it if absent."""
        hit = self.load(kind, config)
        if hit is not None:
            return hit
        result = compute()
        self.save(kind, config, result)
        return result
