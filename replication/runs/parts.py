"""What a chapter's ``make_runs`` hook returns to ``python -m replication.make``: its runs, in named parts.

A chapter is computable without its notebook when its experiments package (or exactly one module in it)
defines ``make_runs(scale, functions=None, seeds=None, steps=None)``. The hook returns a list of
:class:`Part` (or, the older form, ``(kind, runs, measure, batching)`` tuples, each a part named after its
kind), computed in that order. ``python -m replication.make --part NAME`` computes the parts of that name or
of that result kind; a part with ``default=False`` is computed only when named.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .chapters import CHAPTERS, Chapter


@dataclasses.dataclass
class Part:
    """One set of runs of a chapter: stored under result kind ``kind``, each run measured by ``measure(run, device)``.

    ``batching``: the keyword arguments of :func:`~replication.runs.sweep.run_sweep` for runs trained as one model
    (``measure_batch``, ``batch_key``), or None for runs trained one at a time. ``needs_store``: ``measure`` also
    takes ``store=`` (it reads results the chapter stored before, e.g. a trained model's weights). ``cost``: a rough
    relative cost of one run for ``--cheapest-first`` (None: :func:`rough_cost`). ``default``: computed when no
    ``--part`` is given.
    """

    name: str
    kind: str
    runs: list
    measure: Callable[..., Any]
    batching: dict | None = None
    needs_store: bool = False
    cost: Callable[[Any], float] | None = None
    default: bool = True

    @classmethod
    def of(cls, entry) -> Part:
        """``entry`` as a part: a part itself, or a ``(kind, runs, measure, batching)`` tuple named after its kind."""
        if isinstance(entry, Part):
            return entry
        kind, runs, measure, batching = entry
        return cls(kind, kind, list(runs), measure, batching)


def seed_of(run) -> int:
    """The seed of a run: its own ``seed``, or that of the run it measures (``binary``, ``run``), else 0."""
    for inner in (run, getattr(run, "binary", None), getattr(run, "run", None)):
        if inner is not None and isinstance(getattr(inner, "seed", None), int):
            return inner.seed
    return 0


def rough_cost(run) -> float:
    """A rough relative cost of training ``run``: its length (``steps`` or ``epochs``) times the square of its input
    size (``n``, ``p`` or ``T``, where it has one), for ordering runs cheapest first, never for a projection."""
    length = getattr(run, "steps", None) or getattr(run, "epochs", None) or 1
    size = next((getattr(run, k) for k in ("n", "p", "T") if isinstance(getattr(run, k, None), int)), 1)
    return float(length) * float(size) ** 2


def order(part: Part, todo: list[int], cheapest_first=False, seed_by_seed=False, reverse=False) -> list[int]:
    """``todo`` (indices into ``part.runs``) cheapest first (:attr:`Part.cost`), then seed by seed, then reversed, as
    asked; the sorts are stable, so the hook's order breaks ties."""
    cost = part.cost or rough_cost
    if cheapest_first:
        todo = sorted(todo, key=lambda i: cost(part.runs[i]))
    if seed_by_seed:
        todo = sorted(todo, key=lambda i: seed_of(part.runs[i]))
    return todo[::-1] if reverse else list(todo)


def first_seeds(runs: list, seeds: int | None) -> list:
    """The runs of the first ``seeds`` seeds (all of them when ``seeds`` is None)."""
    if seeds is None:
        return list(runs)
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds: must be an integer >= 1, got {seeds!r}")
    return [r for r in runs if seed_of(r) < seeds]


def refuse(chapter: str, functions=None, steps=None) -> None:
    """A clear error for the narrowing arguments of ``make_runs`` that chapter ``chapter`` has no use for."""
    if functions:
        raise ValueError(f"functions: chapter {chapter} has no Boolean functions to choose, got {list(functions)}")
    if steps is not None:
        raise ValueError(f"steps: chapter {chapter}'s runs set their own length (epochs or steps), got {steps}")


HOOK = "make_runs"


def _defines_hook(path: Path) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == HOOK for n in ast.parse(path.read_text()).body)


def hook_module(ch: Chapter) -> str | None:
    """The module that holds ``ch``'s ``make_runs`` hook, found in its source without importing anything: the
    chapter's module (or its package's ``__init__``), else the one module of its package that defines it."""
    spec = importlib.util.find_spec(ch.module)
    if spec is None:
        return None
    if spec.origin and spec.origin.endswith(".py") and _defines_hook(Path(spec.origin)):
        return ch.module
    where = list(spec.submodule_search_locations or [])
    found = sorted(p for d in where for p in Path(d).glob("*.py") if p.name != "__init__.py" and _defines_hook(p))
    if len(found) > 1:
        raise RuntimeError(f"chapter {ch.stem}: {HOOK} is defined in {len(found)} modules: {[p.name for p in found]}")
    return f"{ch.module}.{found[0].stem}" if found else None


def notebook_free() -> list[Chapter]:
    """The chapters of the registry with a ``make_runs`` hook, in the registry's order."""
    return [c for c in CHAPTERS if hook_module(c)]
