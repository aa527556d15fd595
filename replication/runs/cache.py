"""A results cache: one entry per computed result, keyed by a hash of the full config.

Each entry's key hashes the experiment kind, every config field and :data:`CODE_VERSION`; bump the
version when a change alters what a cached computation would return.

**Format.** An entry is ``root/kind/key.json`` (the config, the code version, provenance and the result
with every tensor replaced by a reference) plus, when the result holds tensors (a ``state_dict``),
``root/kind/key.safetensors``. Neither format can run code when read: nothing is unpickled.

**Atomic writes.** Both files are written to a temporary name beside the target and renamed over it,
tensors first, JSON last: the JSON file is what marks an entry as present. An interrupted run never
leaves half an entry, and a rerun finds every entry that finished. An entry that cannot be read is
reported, removed and recomputed. A folder that cannot be written (read-only, full disk) raises one
:class:`CacheError` that names it.

The folder is ``$REPLICATION_CACHE`` if set, else ``_cache/`` at the repository root.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..checks import KEY_OMIT_DEFAULT
from ..paths import REPO

#: Bumped whenever a change alters what a cached computation returns (or how an entry is stored).
CODE_VERSION = "2"
CACHE_ENV = "REPLICATION_CACHE"
_TENSOR = "__tensor__"  # marks a tensor moved to the entry's .safetensors file
_ARRAY = "__ndarray__"  # the same for a numpy array (it comes back as one)


class CacheError(OSError):
    """The cache folder cannot be written (permissions, a full disk, a file where a folder should be)."""


def default_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if (REPO / "pyproject.toml").exists():
        return REPO / "_cache"
    return Path.home() / ".cache" / "replication"


def _jsonable(obj: Any) -> Any:
    """Config values as plain JSON (dataclasses as dicts, tuples as lists, 1.0 as 1).

    A dataclass field marked ``metadata={KEY_OMIT_DEFAULT: True}`` is left out while it equals its default.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: _jsonable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not (f.metadata.get(KEY_OMIT_DEFAULT) and getattr(obj, f.name) == f.default)
        }
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)  # 1.0 and 1 name the same setting
    return obj


def config_key(kind: str, config: Any, version: str | None = None) -> str:
    """Stable hex key of ``(kind, config, version)``; ``config`` is a dataclass or a dict.

    ``version`` defaults to :data:`CODE_VERSION` as it is when called.
    """
    version = CODE_VERSION if version is None else version
    payload = json.dumps({"kind": kind, "config": _jsonable(config), "version": version}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


# --------------------------------------------------------------------------------------------------
# Encoding a result: JSON for everything but tensors, which go to one safetensors file


def encode(obj: Any, tensors: dict[str, torch.Tensor], path: str = "") -> Any:
    """``obj`` as JSON-ready data; tensors and arrays move into ``tensors`` under their path in ``obj``."""
    if isinstance(obj, torch.Tensor):
        name = path or "tensor"
        tensors[name] = obj.detach().cpu().contiguous().clone()
        return {_TENSOR: name}
    if isinstance(obj, dict):
        return {str(k): encode(v, tensors, f"{path}/{k}" if path else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        name = path or "array"
        tensors[name] = torch.from_numpy(np.ascontiguousarray(obj)).clone()
        return {_ARRAY: name}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return encode(dataclasses.asdict(obj), tensors, path)
    raise TypeError(f"cannot store a {type(obj).__name__} in the cache (at {path or 'the top level'})")


def decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`encode` (tuples come back as lists)."""
    if isinstance(obj, dict):
        if set(obj) == {_TENSOR}:
            return tensors[obj[_TENSOR]]
        if set(obj) == {_ARRAY}:
            return tensors[obj[_ARRAY]].numpy()
        return {k: decode(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    return obj


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it over ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        os.close(fd)
    except OSError as err:
        raise _cache_error(path.parent, err) from err
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise _cache_error(path.parent, err) from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cache_error(folder: Path, err: OSError) -> CacheError:
    why = "the disk is full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
    return CacheError(
        f"cannot write to the results folder {folder} ({why}); make it writable, free space, or point "
        f"${CACHE_ENV} at another folder"
    )


def _dump_json(data: dict, tmp: str) -> None:
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, allow_nan=True)


class Cache:
    """Entries under ``root/kind/key.json`` (+ ``.safetensors``). ``root=None`` uses :func:`default_root`."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def path(self, kind: str, config: Any) -> Path:
        """The entry's JSON file (the tensors, if any, sit beside it with the suffix ``.safetensors``)."""
        return self.root / kind / f"{config_key(kind, config)}.json"

    def check_writable(self) -> None:
        """Raise :class:`CacheError` now, before any long work, if entries could not be written."""
        _atomic_write(self.root / ".write-check", lambda tmp: Path(tmp).write_text("ok"))

    def load_entry(self, kind: str, config: Any) -> dict | None:
        """The whole stored entry (config, version, provenance, result), or None when missing/unreadable."""
        p = self.path(kind, config)
        if not p.exists():
            return None
        try:
            entry = json.loads(p.read_text())
            if not isinstance(entry, dict) or "result" not in entry:
                raise ValueError("not a cache entry")
            st = p.with_suffix(".safetensors")
            tensors = load_file(st) if entry.get("tensors") else {}
            entry["result"] = decode(entry["result"], tensors)
            return entry
        except Exception as err:  # noqa: BLE001 - any unreadable entry is recomputed
            warnings.warn(f"cache entry {p} is unreadable ({err!r}); recomputing it", stacklevel=2)
            p.unlink(missing_ok=True)
            p.with_suffix(".safetensors").unlink(missing_ok=True)
            return None

    def load(self, kind: str, config: Any) -> Any | None:
        """The stored result, or None when missing or unreadable (an unreadable one is removed)."""
        entry = self.load_entry(kind, config)
        return None if entry is None else entry["result"]

    def save(self, kind: str, config: Any, result: Any, provenance: dict | None = None) -> Path:
        """Store ``result`` (dicts, lists, numbers, strings, tensors) atomically; returns the JSON path."""
        p = self.path(kind, config)
        tensors: dict[str, torch.Tensor] = {}
        encoded = encode(result, tensors)
        if tensors:
            _atomic_write(p.with_suffix(".safetensors"), lambda tmp: save_file(tensors, tmp))
        entry = {
            "kind": kind,
            "key": p.stem,
            "version": CODE_VERSION,
            "config": _jsonable(config),
            "provenance": provenance or {},
            "tensors": bool(tensors),
            "result": encoded,
        }
        _atomic_write(p, lambda tmp: _dump_json(entry, tmp))
        return p

    def contains(self, kind: str, config: Any) -> bool:
        return self.path(kind, config).exists()

    def entries(self, kind: str) -> list[Path]:
        """The JSON files of every entry of ``kind``."""
        return sorted((self.root / kind).glob("*.json"))

    def get_or_compute(self, kind: str, config: Any, compute: Callable[[], Any]) -> Any:
        """Return the cached result for ``(kind, config)``, computing and storing it if absent."""
        hit = self.load(kind, config)
        if hit is not None:
            return hit
        result = compute()
        self.save(kind, config, result)
        return result
