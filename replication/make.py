"""Compute a chapter's committed results without a notebook: ``python -m replication.make``.

    python -m replication.make --scale paper --chapter 05 --max-minutes 9 --archive $OUT/paper.tar.gz

For a machine with a GPU and few packages (torch, pandas, scipy, safetensors, tqdm: no papermill, Dask or
joblib; nothing here imports them). It

1. builds the chapter's runs at the scale (``--functions`` and ``--seeds`` narrow them; the order of
   ``--functions`` is the order of work, so the runs that matter most come first);
2. groups them into jobs, runs of one shape trained as one model (:func:`replication.train.train_batched`,
   at most ``--batch-size`` each), times a few steps of the first and the longest job's model, and prints
   the projected time of every job and of the whole before it starts;
3. runs the jobs one after another, each run written atomically under ``results/<scale>/`` as its job
   finishes (a rerun skips what is stored), and stops cleanly before a job that would end past
   ``--max-minutes`` (projected from the jobs done so far);
4. packs what it wrote into one ``.tar.gz`` (``--archive``), to carry back from the machine.

Weights (``--weights``): ``float16`` (the default at `paper` scale: half the bytes, enough for the later
chapters that reload a model), ``float32`` or ``none``. Every other measurement is float32.

The chapters it knows are those of the registry (:mod:`replication.runs.chapters`) whose experiments package
defines a ``make_runs`` hook (:mod:`replication.runs.parts`: the chapter's runs in named parts, in the order they
are computed); ``make results`` calls this module for each of them, in the registry's order. The order of work
within a part is the hook's, or, by flag: ``--cheapest-first`` (a rough cost: training length × input size²),
``--seed-by-seed`` (every run of a seed before the next seed: a partial sweep stays balanced), ``--reverse`` (a
second process started with it shares the work from the other end; each skips what the other stored).
``--part NAME[,NAME]`` computes the parts of those names (or, where no part has the name, of those result kinds) only; ``--limit K`` at most K runs. A
rerun always resumes: the runs already stored are skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import math
import os
import sys
import tarfile
import time
from pathlib import Path


from .runs.chapters import chapter
from .runs.config import SCALES
from .runs.parts import Part, hook_module, notebook_free, order, seed_of
from .runs.projection import project, run_seconds
from .runs.store import Store
from .runs.sweep import batch_jobs, resolve_device, run_key, run_sweep

WEIGHTS = ("float16", "float32", "none")


@dataclasses.dataclass
class Slim:
    """A measure function whose results keep their weights as ``weights`` says (a module-level class, so
    worker processes could import it)."""

    measure: object
    weights: str

    def __call__(self, configs, device):
        out = self.measure(configs, device)
        return [self.slim(r) for r in out] if isinstance(out, list) else self.slim(out)

    def slim(self, result: dict) -> dict:
        sd = result.get("state_dict")
        if sd is None or self.weights == "float32":
            return result
        if self.weights == "none":
            return {k: v for k, v in result.items() if k != "state_dict"}
        return {**result, "state_dict": {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m replication.make", description=__doc__.split("\n\n")[0])
    p.add_argument("--chapter", required=True, help="the chapter (its number); one with a make_runs hook")
    p.add_argument("--scale", default="paper", help=f"one of {list(SCALES)}")
    p.add_argument("--functions", default=None, help="comma-separated functions, in the order to run them")
    p.add_argument("--seeds", type=int, default=None, help="seeds per (function, n) (default: the scale's)")
    p.add_argument(
        "--part", default=None, help="comma-separated parts or result kinds of the chapter (default: its default parts)"
    )
    p.add_argument("--cheapest-first", action="store_true", help="each part's runs cheapest first")
    p.add_argument("--seed-by-seed", action="store_true", help="each part's runs seed by seed")
    p.add_argument("--reverse", action="store_true", help="each part's runs in the reverse order")
    p.add_argument("--limit", type=int, default=None, help="compute at most this many runs")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default: the scale's)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop before a job would end past this")
    p.add_argument("--batch-size", type=int, default=40, help="most runs trained as one model")
    p.add_argument("--weights", default=None, help=f"one of {list(WEIGHTS)} (default: float16 at paper, else float32)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if visible)")
    p.add_argument("--results-dir", default=None, help="root of the results (default: the repository's results/)")
    p.add_argument("--archive", default=None, help="write what was computed into this .tar.gz")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the projection, train nothing")
    a = p.parse_args(argv)
    try:
        ch = chapter(a.chapter)
    except ValueError as e:
        p.error(f"--chapter: {e}")
    if not hook_module(ch):
        p.error(f"--chapter: {a.chapter!r} has no notebook-free runs; chapters: {[c.number for c in notebook_free()]}")
    a.chapter = ch.number
    if a.scale not in SCALES:
        p.error(f"--scale: must be one of {list(SCALES)}, got {a.scale!r}")
    a.weights = a.weights or ("float16" if a.scale == "paper" else "float32")
    if a.weights not in WEIGHTS:
        p.error(f"--weights: must be one of {list(WEIGHTS)}, got {a.weights!r}")
    if a.batch_size < 1:
        p.error(f"--batch-size: must be >= 1, got {a.batch_size}")
    if a.max_minutes is not None and not a.max_minutes > 0:
        p.error(f"--max-minutes: must be > 0, got {a.max_minutes}")
    if a.limit is not None and a.limit < 1:
        p.error(f"--limit: must be >= 1, got {a.limit}")
    a.functions = tuple(a.functions.split(",")) if a.functions else None
    return a


def label(run) -> str:
    """How a job is named in the plan: the function and length of an encoder run, else the run's type and seed."""
    if hasattr(run, "function"):
        return f"{run.function:8s} n={run.n:<4d}"
    return f"{type(run).__name__} seed={seed_of(run)}"


@dataclasses.dataclass
class Plan:
    """One part's runs for :func:`main`: what to compute, as which jobs, and their projected seconds."""

    kind: str
    runs: list
    measure: object
    batching: dict | None
    jobs: list[list[int]]
    stored: int = 0
    times: list[float] = dataclasses.field(default_factory=list)


def chosen_parts(a: argparse.Namespace, out) -> list[Part]:
    """The hook's parts that ``--part`` names (by name or by result kind), else its default parts."""
    parts = [Part.of(o) for o in ([out] if isinstance(out, tuple) else out)]
    if not a.part:
        return [q for q in parts if q.default]
    names = a.part.split(",")
    known = list(dict.fromkeys([q.name for q in parts] + [q.kind for q in parts]))
    wrong = [n for n in names if n not in known]
    if wrong:
        kinds = list(dict.fromkeys(q.kind for q in parts))
        raise SystemExit(
            f"--part: chapter {a.chapter} computes the result kinds {kinds} in the parts "
            f"{[q.name for q in parts]}, got {wrong}"
        )
    # a name is a part's name where one has it, else a result kind (every part that stores that kind)
    return [q for q in parts if q.name in names or (q.kind in names and q.kind not in {p.name for p in parts})]


def plans(a: argparse.Namespace, module, store: Store, device: str) -> list[Plan]:
    """The chapter's hook's runs at the scale, less those stored, ordered and grouped into jobs."""
    try:
        out = module.make_runs(a.scale, functions=a.functions, seeds=a.seeds, steps=a.steps)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"chapter {a.chapter}: {e}") from e
    result, left = [], a.limit
    for part in chosen_parts(a, out):
        todo = [i for i, r in enumerate(part.runs) if not store.contains(part.kind, run_key(r, device))]
        stored = len(part.runs) - len(todo)
        todo = order(part, todo, a.cheapest_first, a.seed_by_seed, a.reverse)
        if left is not None:
            todo, left = todo[:left], left - len(todo[:left])
        batching = part.batching
        jobs = batch_jobs(todo, part.runs, batching["batch_key"], a.batch_size) if batching else [[i] for i in todo]
        at = {i: k for k, i in enumerate(todo)}
        jobs.sort(key=lambda job: at[job[0]])  # in the order of todo (batch_jobs orders by index)
        measure = functools.partial(part.measure, store=store) if part.needs_store else part.measure
        result.append(Plan(part.kind, part.runs, measure, batching, jobs, stored))
    return result


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    module = importlib.import_module(hook_module(chapter(a.chapter)))
    device = resolve_device(a.device)
    store = Store(results=a.results_dir, mode_="write", scale=a.scale)
    todo = plans(a, module, store, device)
    n_runs, n_todo, n_jobs = (
        sum(len(p.runs) for p in todo),
        sum(len(j) for p in todo for j in p.jobs),
        sum(len(p.jobs) for p in todo),
    )
    print(
        f"chapter {a.chapter} at {a.scale} on {device}: {n_runs} runs, {sum(p.stored for p in todo)} stored, "
        f"{n_todo} to compute in {n_jobs} jobs (at most {a.batch_size} runs each)",
        flush=True,
    )
    if not n_jobs:
        return _pack(a, store, [])
    for p in todo:
        if not p.jobs:
            continue
        if p.batching:
            p.times = project(p.jobs, p.runs, device, a.batch_size)
        elif not isinstance(getattr(p.runs[p.jobs[0][0]], "steps", None), int):
            p.times = [math.nan] * len(p.jobs)  # trained by epochs: each job projected from the part's jobs done
        else:  # one run timed; the others of the kind scaled by their budgets
            first = p.runs[p.jobs[0][0]]
            each = run_seconds(first, p.measure, device) / first.steps
            p.times = [each * p.runs[j[0]].steps for j in p.jobs]
        for j, t in zip(p.jobs, p.times):
            print(f"  {label(p.runs[j[0]])} {len(j):3d} runs  ~{_time(t)}", flush=True)
    total = sum(t for p in todo for t in p.times if not math.isnan(t))
    print(
        f"projected: {_time(total)} in all"
        + (" but the runs trained by epochs" if any(math.isnan(t) for p in todo for t in p.times) else "")
        + (f"; budget {a.max_minutes:g} min" if a.max_minutes else ""),
        flush=True,
    )
    if a.dry_run:
        return 0
    start, done, written, ratio, left = time.perf_counter(), 0.0, [], 1.0, n_jobs
    for p in todo:
        single = Slim(p.measure, a.weights)
        batch = (
            dict(
                measure_batch=Slim(p.batching["measure_batch"], a.weights),
                batch_key=p.batching["batch_key"],
                batch_size=a.batch_size,
            )
            if p.batching
            else {}
        )
        took_part = []
        for j, t in zip(p.jobs, p.times):
            elapsed = time.perf_counter() - start
            est = ratio * t if not math.isnan(t) else (sum(took_part) / len(took_part) if took_part else 0.0)
            if a.max_minutes is not None and elapsed + est > 60 * a.max_minutes:
                print(
                    f"stopping: the next job (~{_time(est)}) would end past {a.max_minutes:g} min "
                    f"({_time(elapsed)} used); {left} jobs left for a rerun",
                    flush=True,
                )
                return _pack(a, store, written)
            t0 = time.perf_counter()
            chosen = [p.runs[i] for i in j]
            run_sweep(
                chosen,
                single,
                p.kind,
                cache=store,
                n_jobs=1,
                progress=False,
                device=device,
                batched=len(j) > 1,
                **batch,
            )
            took = time.perf_counter() - t0
            took_part.append(took)
            if not math.isnan(t):  # the projections' error so far rescales the next ones
                done += t
                ratio = max((time.perf_counter() - start) / done, 0.1)
            left -= 1
            written += [(p.kind, run_key(r, device)) for r in chosen]
            print(
                f"done {' '.join(label(chosen[0]).split())} ×{len(j)} in {_time(took)}"
                + ("" if math.isnan(t) else f" (projected {_time(t)})")
                + f"; {len(written)} runs written",
                flush=True,
            )
    return _pack(a, store, written)


def _time(seconds: float) -> str:
    if math.isnan(seconds):
        return "? (trained by epochs)"
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _pack(a: argparse.Namespace, store: Store, written: list[tuple[str, object]]) -> int:
    """Write the computed entries (and their kinds' tables) into ``--archive``, paths relative to the results root."""
    if not a.archive:
        return 0
    root = store.results_root
    files = [store.target.path(kind, k) for kind, k in written]
    files += [p.with_suffix(".safetensors") for p in files if p.with_suffix(".safetensors").exists()]
    tables = [store.target.root / f"{kind}.csv" for kind in dict.fromkeys(kind for kind, _ in written)]
    files += [t for t in tables if t.exists()]
    Path(a.archive).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(a.archive) + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for f in files:
            tar.add(f, arcname=str(Path(f).resolve().relative_to(Path(root).resolve())))
    os.replace(tmp, a.archive)
    size = Path(a.archive).stat().st_size
    print(f"archive: {a.archive} ({len(files)} files, {size / 2**20:.1f} MiB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
