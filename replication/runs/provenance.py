"""Provenance of a computed result: scale, date, wall time, device, machine, CPU, torch and the commit.

Provenance is stored beside a result, never hashed into its key: fields added here (the CPU fields of
:func:`cpu`) appear in new entries, and older entries without them load unchanged.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
from datetime import datetime, UTC
from pathlib import Path

from ..paths import REPO
from .config import resolve_scale


@functools.lru_cache(maxsize=1)
def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "replication"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        )
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


@functools.lru_cache(maxsize=1)
def cpu() -> dict:
    """What tells two CPUs' arithmetic apart: vendor, model name, family and model number (``/proc/cpuinfo``),
    the instruction set torch's kernels use, and the BLAS torch was built with. Two machines that agree on
    all of these (and on torch and its thread count) run the same kernels; a committed training run is
    reproducible to the bit only there."""
    import re

    import torch

    info = {"vendor_id": None, "model name": None, "cpu family": None, "model": None}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in info and info[key] is None:
                info[key] = value.strip()
            if all(v is not None for v in info.values()):
                break
    except OSError:
        pass
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return {
        "cpu_vendor": info["vendor_id"],
        "cpu_model": info["model name"] or platform.processor() or platform.machine(),
        "cpu_family": info["cpu family"],
        "cpu_model_number": info["model"],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": blas.group(1) if blas else None,
    }


def provenance(device: str = "cpu", seconds: float | None = None, scale: str | None = None) -> dict:
    """Where and how a result was computed (stored in its entry)."""
    import torch

    try:
        version = importlib.metadata.version("replication")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "scale": resolve_scale(scale),
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": None if seconds is None else round(float(seconds), 3),
        "device": device,
        "machine": machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        **cpu(),
        **({"gpu": torch.cuda.get_device_name()} if device == "cuda" and torch.cuda.is_available() else {}),
        "package_version": version,
        "commit": _git_commit(),
    }
