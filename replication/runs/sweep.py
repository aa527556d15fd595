"""Run a grid of configs, each cached on its own, in parallel; results as one tidy DataFrame.

A *sweep* is a list of frozen dataclass configs (one per run) and a ``measure(config, device) -> dict``
function at module level (so worker processes can import it). :func:`run_sweep`

1. rejects a bad grid before any work starts (empty, not frozen dataclasses, mixed types, duplicates);
2. looks every run up in the :class:`~replication.runs.store.Store` (committed ``results/``, then the local
   cache; key: ``kind`` + the full config + the device, see below); in the book build a run missing from
   ``results/`` stops the sweep here, before any work, naming the ``make results`` command;
3. computes the missing runs in parallel: joblib's ``loky`` worker processes with one torch thread each
   (on a 2-core machine two single-thread processes train small models much faster than one process with
   two threads), or the workers of a ``dask.distributed`` cluster when ``scheduler`` names one;
4. has the process that computed a run write it (atomically, with its provenance) as soon as it
   finishes, so a killed sweep loses only the runs in flight and a rerun recomputes none of the
   finished ones;
5. returns one row per config: the config's fields, ``device``, ``source`` (``results``, ``cache`` or
   ``computed``), ``computed_at`` and ``machine`` (from the run's provenance), and the scalar entries of the
   result (non-scalar entries such as a ``state_dict`` stay in the store; :func:`load_results` returns them).

**Device.** With ``device=None`` runs go to ``"cuda"`` when ``torch.cuda.is_available()``, else to
``"cpu"``. On the GPU, ``n_jobs`` worker processes share the one card, each with its own CUDA context:
the small models of these papers leave a GPU mostly idle between kernel launches, and on an H100 eight
processes trained a width-32 model about 5.6 times faster in all than one process did. The device is part
of each run's cache key: CPU and GPU arithmetic differ, so a result computed on one never stands in silently for the other; a GPU machine
computes its own entries beside the CPU ones, and every row says which device produced it.

**Dask.** ``scheduler`` is an address (``"tcp://host:8786"``) or a ``distributed.Client``. Workers write
to the cache folder themselves, so it must be on a file system they share with this process (the
main process also saves any result it receives whose file is still missing).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any
from collections.abc import Callable, Iterable, Sequence

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..train import quiet
from .cache import Cache
from .store import Store, log_origin
from .workers import Measure, compute_job, run_dask, run_key


#: Columns that say where a row came from (they differ between a first run and a rerun of the same grid).
ORIGIN_COLUMNS = ["source", "cached", "computed_at", "machine"]

#: Result entries of these types become DataFrame columns; others stay in the cache only.
SCALARS = (numbers.Number, str, bool, type(None))


def resolve_device(device: str | None = None) -> str:
    """``None`` -> ``"cuda"`` if a GPU is visible, else ``"cpu"``; otherwise ``"cpu"`` or ``"cuda"``."""
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device: must be 'cpu', 'cuda' or None (auto), got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but torch sees no GPU")
    return device


def check_grid(configs: Iterable[Any]) -> list:
    """The configs as a list, or a ValueError naming what is wrong with the grid."""
    if isinstance(configs, (str, bytes)) or not isinstance(configs, Iterable):
        raise ValueError(f"configs: must be a list of frozen dataclass instances, got {type(configs).__name__}")
    configs = list(configs)
    if not configs:
        raise ValueError("configs: the grid is empty; give at least one run")
    kinds = set()
    for i, c in enumerate(configs):
        if not dataclasses.is_dataclass(c) or isinstance(c, type):
            raise ValueError(f"configs[{i}]: must be a dataclass instance, got {c!r}")
        if not type(c).__dataclass_params__.frozen:
            raise ValueError(f"configs[{i}]: {type(c).__name__} must be frozen (it is a cache key)")
        kinds.add(type(c))
    if len(kinds) > 1:
        raise ValueError(f"configs: all runs must share one config type, got {sorted(k.__name__ for k in kinds)}")
    seen = {}
    for i, c in enumerate(configs):
        if c in seen:
            raise ValueError(f"configs[{i}]: duplicate of configs[{seen[c]}] ({c!r})")
        seen[c] = i
    return configs


def batch_jobs(
    todo: list[int], configs: Sequence[Any], batch_key: Callable[[Any], Any] | None, batch_size: int
) -> list[list[int]]:
    """The runs ``todo`` (indices into ``configs``) as units of work: those whose ``batch_key`` is equal (and not
    None) in batches of at most ``batch_size``, in order of first appearance; every other run on its own."""
    if batch_key is None or batch_size <= 1:
        return [[i] for i in todo]
    groups: dict[Any, list[int]] = {}
    jobs: list[list[int]] = []
    for i in todo:
        key = batch_key(configs[i])
        if key is None:
            jobs.append([i])
        else:
            groups.setdefault(key, []).append(i)
    for members in groups.values():
        jobs += [members[j : j + batch_size] for j in range(0, len(members), batch_size)]
    return sorted(jobs, key=lambda job: job[0])


def _row(config: Any, device: str, result: dict, source: str, prov: dict) -> dict:
    row = dataclasses.asdict(config)
    row["device"] = device
    row["source"] = source
    row["cached"] = source != "computed"
    row["computed_at"] = prov.get("computed_at")
    row["machine"] = prov.get("machine")
    for k, v in result.items():
        if k in row:
            raise ValueError(f"measure: result key {k!r} clashes with a config field of the same name")
        if isinstance(v, SCALARS):
            row[k] = v
    return row


def run_sweep(
    configs: Sequence[Any],
    measure: Measure,
    kind: str,
    cache: Store | Cache | None = None,
    n_jobs: int = 2,
    scheduler: Any = None,
    progress: bool | None = None,
    device: str | None = None,
    measure_batch: Callable[[list, str], list[dict]] | None = None,
    batch_key: Callable[[Any], Any] | None = None,
    batch_size: int = 40,
    batched: bool | None = None,
) -> pd.DataFrame:
    """Compute (or load) every run of a grid and return one row per config.

    Args:
        configs: frozen dataclass instances, one per run, all of one type.
        measure: ``measure(config, device) -> dict``, a module-level function (workers import it).
        kind: the cache folder and key prefix, e.g. ``"sharpness_run"``.
        cache: where results live: a :class:`~replication.runs.store.Store` (default: committed ``results/``,
            then ``$REPLICATION_CACHE`` or ``_cache/``), or a plain :class:`~replication.runs.cache.Cache`
            (wrapped in a Store with that local cache).
        n_jobs: worker processes (on the CPU each with one torch thread; on the GPU sharing the card);
            1 runs in this process.
        scheduler: a dask.distributed address or ``Client``; the missing runs go to its workers.
        progress: tqdm bar over runs; default on unless :func:`replication.train.quiet`.
        device: ``"cpu"``, ``"cuda"`` or None (auto; see the module docstring).
        measure_batch: ``measure_batch(configs, device) -> [dict]``, the same results as ``measure`` on each
            config, computed for runs trained as one model (:func:`replication.train.train_batched`).
        batch_key: runs whose ``batch_key(config)`` is equal (and not None) may share a batch.
        batch_size: most runs in one batch.
        batched: use ``measure_batch`` (None: on CUDA when it is given; the CPU gains little from it). Each
            result is stored as it would be alone, with ``batch`` in its provenance; not with ``scheduler``.

    Returns:
        DataFrame in the order of ``configs``: config fields, ``device``, ``source`` (``results``,
        ``cache`` or ``computed``), ``cached`` (not computed now), ``computed_at``, ``machine`` (from
        the provenance), and the scalar entries of each result.
    """
    configs = check_grid(configs)
    if not callable(measure):
        raise ValueError(f"measure: must be callable, got {measure!r}")
    if not isinstance(kind, str) or not kind or "/" in kind:
        raise ValueError(f"kind: must be a non-empty name without '/', got {kind!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs: must be a positive integer, got {n_jobs!r}")
    device = resolve_device(device)
    if batched is None:
        batched = measure_batch is not None and device == "cuda"
    if batched and (measure_batch is None or batch_key is None):
        raise ValueError("batched: needs both measure_batch and batch_key")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
    store = as_store(cache)
    keys = [run_key(c, device) for c in configs]

    found = [store.find(kind, k) for k in keys]
    results: list[dict | None] = [e["result"] if e is not None else None for e, _ in found]
    provs: list[dict] = [e.get("provenance", {}) if e is not None else {} for e, _ in found]
    sources = [src for _, src in found]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        store.require(kind, [keys[i] for i in todo], needed=len(keys))
        store.check_writable()
    root, scale = str(store.root), store.scale
    show = (not quiet()) if progress is None else progress
    bar = tqdm(total=len(configs), initial=len(configs) - len(todo), disable=not show, desc=kind)
    args = lambda i: (kind, configs[i], device, measure, root, scale)  # noqa: E731

    try:
        if not todo:
            pass
        elif scheduler is not None:
            for i, (res, prov) in run_dask(scheduler, todo, args):
                if not store.target.contains(kind, keys[i]):
                    store.target.save(kind, keys[i], res, prov)
                results[i], provs[i], sources[i] = res, prov, "computed"
                bar.update(1)
        else:
            jobs = batch_jobs(todo, configs, batch_key if batched else None, batch_size)
            job_args = lambda job: (job, [configs[i] for i in job], kind, device, measure, measure_batch, root, scale)  # noqa: E731
            if n_jobs == 1 or len(jobs) == 1:
                done = (compute_job(*job_args(job), set_threads=(device == "cpu")) for job in jobs)
            else:
                from joblib import Parallel, delayed

                par = Parallel(n_jobs=min(n_jobs, len(jobs)), backend="loky", return_as="generator_unordered")
                share = min(n_jobs, len(jobs)) if device == "cuda" else 1
                done = par(delayed(compute_job)(*job_args(job), True, share) for job in jobs)
            for finished in done:
                for i, (res, prov) in finished:
                    results[i], provs[i], sources[i] = res, prov, "computed"
                    bar.update(1)
    finally:
        bar.close()
        if todo:
            store.write_table(kind)

    for src, prov in zip(sources, provs):
        log_origin(kind, src, prov)
    return pd.DataFrame(
        [_row(c, device, res, src, prov) for c, res, src, prov in zip(configs, results, sources, provs)]
    )


def as_store(cache: Store | Cache | None) -> Store:
    """``None`` -> the default :class:`Store`; a plain :class:`Cache` becomes a Store around it."""
    if isinstance(cache, Store):
        return cache
    if cache is None or isinstance(cache, Cache):
        return Store(cache=cache)
    raise ValueError(f"cache: must be a Store, a Cache or None, got {cache!r}")


def load_results(
    kind: str, configs: Sequence[Any], cache: Store | Cache | None = None, device: str | None = None
) -> list:
    """The full stored result dicts of ``configs`` (including non-scalar entries), None where missing."""
    store = as_store(cache)
    device = resolve_device(device)
    out = []
    for c in check_grid(configs):
        entry, _ = store.find(kind, run_key(c, device))
        out.append(None if entry is None else entry["result"])
    return out


def sweep_curves(configs: list, measure, kind: str, cache=None, n_jobs: int = 2, progress=None) -> pd.DataFrame:
    """Run (or load) a sweep whose results hold a ``history`` (one dict per evaluation) and return every
    evaluation of every run as one long frame: the history's columns, then the run's config fields and
    scalar results repeated on each of its rows (:func:`run_sweep`)."""
    runs = run_sweep(configs, measure, kind, cache=cache, n_jobs=n_jobs, progress=progress)
    frames = []
    for (_, row), res in zip(runs.iterrows(), load_results(kind, configs, cache=cache)):
        h = pd.DataFrame(res["history"])
        frames.append(h.assign(**{k: [v] * len(h) for k, v in row.items() if k not in h}))
    return pd.concat(frames, ignore_index=True)
