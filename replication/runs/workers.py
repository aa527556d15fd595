"""How a sweep's runs are computed in worker processes (:func:`.sweep.run_sweep` schedules them): one torch thread
and a share of the GPU per worker; one run, a group of runs trained as one batched model, or a job of such groups;
the Dask path; and what a run is keyed on (:func:`run_key`)."""

from __future__ import annotations

import contextlib
import time
from typing import Any
from collections.abc import Callable

import torch

from ..measures import sharpness as sharpness_mod
from .cache import Cache
from .provenance import provenance

#: A measure function: ``measure(config, device) -> result dict``.
Measure = Callable[[Any, str], dict]


def run_key(config: Any, device: str) -> dict:
    """What a run's cache entry is keyed on (besides ``kind``): the full config and the device."""
    return {"config": config, "device": device}


@contextlib.contextmanager
def _worker(set_threads: bool, gpu_share: int):
    """A worker's settings for one unit of work: one torch thread (``set_threads``, restored after) and its
    share of the GPU (``gpu_share`` processes share it: :data:`replication.measures.sharpness.GPU_SHARE`)."""
    sharpness_mod.GPU_SHARE = max(1, int(gpu_share))
    threads = torch.get_num_threads()
    if set_threads:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if set_threads:
            torch.set_num_threads(threads)


def _compute(
    kind: str, config: Any, device: str, measure: Measure, root: str, scale: str, set_threads: bool, gpu_share: int = 1
):
    """Run ``measure`` and store its result with its provenance; executed in a worker (or in this process).

    ``gpu_share``: processes sharing the GPU, so that each sizes its batched evaluations to its share of the
    free memory (:data:`replication.measures.sharpness.GPU_SHARE`). Returns ``(result, provenance)``.
    """
    t0 = time.perf_counter()
    with _worker(set_threads, gpu_share):
        result = measure(config, device)
        prov = provenance(device, time.perf_counter() - t0, scale)
    if not isinstance(result, dict):
        raise TypeError(f"measure: must return a dict, got {type(result).__name__} for {config!r}")
    Cache(root).save(kind, run_key(config, device), result, prov)
    return result, prov


def _compute_indexed(i, *args):
    return i, _compute(*args)


def _compute_group(
    kind: str,
    configs: list,
    device: str,
    measure_batch: Callable[[list, str], list[dict]],
    root: str,
    scale: str,
    set_threads: bool,
    gpu_share: int = 1,
):
    """Run ``measure_batch`` on runs trained as one batch and store each result as it would be stored alone;
    its provenance says ``batch`` (how many runs were trained together) and the wall time per run."""
    t0 = time.perf_counter()
    with _worker(set_threads, gpu_share):
        results = measure_batch(list(configs), device)
        seconds = (time.perf_counter() - t0) / len(configs)
    if not isinstance(results, list) or len(results) != len(configs) or not all(isinstance(r, dict) for r in results):
        raise TypeError(
            f"measure_batch: must return one dict per config ({len(configs)}), got {type(results).__name__}"
        )
    out = []
    cache = Cache(root)
    for config, result in zip(configs, results):
        prov = {**provenance(device, seconds, scale), "batch": len(configs)}
        cache.save(kind, run_key(config, device), result, prov)
        out.append((result, prov))
    return out


def compute_job(
    job: list[int],
    configs: list,
    kind: str,
    device: str,
    measure,
    measure_batch,
    root: str,
    scale: str,
    set_threads: bool,
    gpu_share: int = 1,
):
    """One unit of work: a single run (``measure``) or a batch of runs (``measure_batch``); ``[(i, (res, prov))]``."""
    if len(job) == 1:
        return [(job[0], _compute(kind, configs[0], device, measure, root, scale, set_threads, gpu_share))]
    return list(zip(job, _compute_group(kind, configs, device, measure_batch, root, scale, set_threads, gpu_share)))


def run_dask(scheduler: Any, todo: list[int], args: Callable[[int], tuple]):
    """Yield ``(index, result)`` as the cluster finishes runs."""
    from distributed import Client, as_completed

    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    if not isinstance(client, Client):
        raise ValueError(f"scheduler: must be an address string or a distributed.Client, got {scheduler!r}")
    try:
        futures = [client.submit(_compute_indexed, i, *args(i), True, pure=False) for i in todo]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        if own:
            client.close()
