"""Provenance of a computed result: scale, date, wall time, device, machine, torch and the commit."""
from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from ..paths import REPO
from .config import resolve_scale


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
