"""The generic training loop, :func:`fit`, that every chapter trains with.

:func:`fit` is the loop every chapter trains with, whatever the model (the HR24 encoder, an
encoder-decoder, a vision model, a grokking model trained full-batch): it takes the model, a source of
batches, a loss, an optimiser and a step budget; evaluates at step 0, every ``eval_every`` steps and at
the last step; lets a callback log along training and a ``stop`` rule end the run early; and stops a
run whose training loss goes non-finite, marking it failed instead of raising.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterator

import torch
from tqdm.auto import tqdm

from ..checks import check_int


#: Where :func:`fit` gets its batches: a function called once per step, or an iterator.
Batches = Callable[[], Any] | Iterator[Any]


@dataclass
class FitResult:
    """What :func:`fit` returns.

    ``history`` has one row per evaluation: ``step``, ``loss`` (the training loss of that step, NaN at
    step 0), then the entries of ``evaluate`` and ``callback``. ``steps_run`` counts the optimiser
    updates applied. ``stopped_reason`` is None when the step budget ran out, else why the run stopped
    (the string ``stop`` returned, the batches running out, or a non-finite loss). A ``failed`` run hit a
    non-finite training loss at ``failed_step``; that step's update was not applied.
    """

    history: list[dict]
    steps_run: int
    stopped_reason: str | None
    failed: bool
    seconds: float
    failed_step: int | None = None


def quiet() -> bool:
    """Progress bars stay off under CI, in tests and in the book build (``REPLICATION_QUIET`` / ``CI``)."""
    return bool(os.environ.get("CI") or os.environ.get("REPLICATION_QUIET") or os.environ.get("PYTEST_CURRENT_TEST"))


class single_thread:
    """Run a block with one torch thread, restoring the previous setting afterwards.

    Small models train faster with one torch thread per process on the CPU: two single-thread processes
    beat one two-thread process, so sweeps run one single-thread process per core.
    """

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def _batch_source(batches: Batches) -> Callable[[], Any]:
    if callable(batches):
        return batches
    if hasattr(batches, "__next__"):
        return lambda: next(batches)
    raise TypeError(
        "batches: must be a function returning the next batch or an iterator, got "
        f"{type(batches).__name__}; for full-batch training pass itertools.repeat(batch) or lambda: batch"
    )


def _on_cpu(model: torch.nn.Module) -> bool:
    return all(p.device.type == "cpu" for p in model.parameters())


def fit(
    model: torch.nn.Module,
    batches: Batches,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    steps: int,
    *,
    eval_every: int = 0,
    eval_at: Callable[[int], bool] | None = None,
    evaluate: Callable[[int, torch.nn.Module], dict] | None = None,
    callback: Callable[[int, torch.nn.Module], dict | None] | None = None,
    stop: Callable[[dict], str | None] | None = None,
    progress: bool | None = None,
    desc: str = "",
) -> FitResult:
    """Train ``model`` for ``steps`` optimiser steps; the one training loop every chapter uses.

    Each step takes the next batch, computes ``loss = loss_fn(model, batch)``, then
    ``zero_grad``/``backward``/``optimizer.step()``. There is no hidden randomness: a run is
    deterministic whenever its batches, initialisation and ``evaluate``/``callback`` are (seed them).

    Evaluations happen at step 0, every ``eval_every`` steps (0: none in between) or where ``eval_at`` says,
    and at the last step.
    Each appends a history row ``{"step", "loss", **evaluate(step, model), **callback(step, model)}``,
    with the model in eval mode (back in train mode afterwards); ``loss`` is the training loss of that
    step (NaN at step 0). ``stop(row)`` is then asked about the row: a returned string ends the run
    there and is recorded as ``stopped_reason`` (early stopping, giving up).

    A non-finite training loss (NaN or inf) ends the run at once, before that step's update, and
    marks it failed: nothing is raised, and neither ``evaluate`` nor ``callback`` is called on the
    broken model. An iterator of batches that runs out also ends the run (after a last evaluation).

    On the CPU the loop runs with one torch thread (see :class:`single_thread`).

    Args:
        model: any ``torch.nn.Module``; trained in place.
        batches: a function called once per step returning the batch, or an iterator of batches. For
            full-batch training give the same batch every step (``lambda: batch``).
        loss_fn: ``loss_fn(model, batch)`` -> scalar tensor to minimise.
        optimizer: a torch optimiser over the model's parameters.
        steps: step budget (>= 0).
        eval_every: steps between evaluations (0: only at step 0 and the last step).
        eval_at: ``eval_at(step)`` -> whether to evaluate after ``step``, in place of ``eval_every``
            (an uneven schedule, e.g. dense early on); step 0 and the last step are always evaluated.
        evaluate: ``evaluate(step, model)`` -> dict of numbers for that step's history row.
        callback: ``callback(step, model)`` -> dict or None, called at every evaluation after
            ``evaluate``; its dict joins the row (for quantities logged along training).
        stop: ``stop(row)`` -> reason or None, asked after every evaluation (step 0 included).
        progress: show a tqdm bar; default: on unless :func:`quiet`.
        desc: the bar's label.
    """
    steps = check_int("steps", steps, 0)
    eval_every = check_int("eval_every", eval_every, 0)
    next_batch = _batch_source(batches)
    if eval_at is None:
        eval_at = (lambda step: step % eval_every == 0) if eval_every else (lambda step: False)  # noqa: E731
    args = (model, next_batch, loss_fn, optimizer, steps, eval_at, evaluate, callback, stop, progress, desc)
    if _on_cpu(model):
        with single_thread():
            return _fit(*args)
    return _fit(*args)


def _fit(model, next_batch, loss_fn, optimizer, steps, eval_at, evaluate, callback, stop, progress, desc):
    t0 = time.perf_counter()
    history: list[dict] = []
    show = (not quiet()) if progress is None else progress
    bar = tqdm(total=steps, disable=not show, leave=False, desc=desc)
    loss = float("nan")

    def log(step: int) -> str | None:
        """Evaluate at ``step``, append the row, and return ``stop``'s verdict."""
        row: dict = {"step": step, "loss": loss}
        model.eval()
        try:
            shown = dict(evaluate(step, model)) if evaluate is not None else {}
            row.update(shown)
            if callback is not None:
                row.update(callback(step, model) or {})
        finally:
            model.train()
        history.append(row)
        if show:
            nums = {k: v for k, v in shown.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            bar.set_postfix({k: f"{v:.2e}" for k, v in list(nums.items())[:3]}, refresh=False)
        return stop(row) if stop is not None else None

    model.train()
    reason = log(0)
    failed, failed_step, step_done = False, None, 0
    try:
        for step in range(1, steps + 1):
            if reason is not None:
                break
            try:
                batch = next_batch()
            except StopIteration:
                reason = f"out of batches after step {step_done}"
                if history[-1]["step"] != step_done:
                    log(step_done)
                break
            out = loss_fn(model, batch)
            loss = float(out.detach())
            if not math.isfinite(loss):
                failed, failed_step = True, step
                reason = f"non-finite training loss ({loss}) at step {step}"
                break
            optimizer.zero_grad(set_to_none=True)
            out.backward()
            optimizer.step()
            step_done = step
            bar.update(1)
            if eval_at(step) or step == steps:
                reason = log(step)
    finally:
        bar.close()
    return FitResult(
        history=history,
        steps_run=step_done,
        stopped_reason=reason,
        failed=failed,
        seconds=time.perf_counter() - t0,
        failed_step=failed_step,
    )
