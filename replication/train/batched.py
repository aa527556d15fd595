"""K HR24 runs of one shape trained as one model: :func:`train_batched`.

The K models differ only in their seed (their initialisation, their training strings and their evaluation
strings). Their parameters are stacked along a leading model dimension (``torch.func.stack_module_state``),
the encoder's forward pass is mapped over it with ``torch.func.vmap``, and one AdamW updates the stacks. The
per-model losses are summed before ``backward``: no parameter of one model touches another's loss, so each
slice of the summed gradient is that model's own gradient, and AdamW is elementwise, so the update of each
slice is the update its model would get alone. Each model draws its training strings from the generator a
single run (:func:`replication.train.hr24.train`) seeds, in the same order, and is evaluated on the same
strings. ``tests/core/train/test_batched.py`` checks the K results against K separate runs (losses, evaluation
MSEs and final parameters to float tolerance).

What differs from K separate runs is only where the work happens: one kernel launch per operation for all
K models, which is what fills a GPU (one width-128 model leaves most of it idle). Runs with a stopping rule
(``early_stop``, ``give_up_step``, two phases) stop at different steps and are not batched (a ValueError
says which field). A model whose training loss goes non-finite is handled as a single run handles it:
that step's update is not applied to it, it takes no further step, and it is ``failed``; the others go on.
Nothing inside a step waits on the host: non-finite losses are tracked on the device, and losses come
back to the host only at evaluations.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from ..models.encoder import HR24Encoder
from ..tasks import boolean
from .fit import quiet, single_thread
from .hr24 import TrainConfig, TrainResult, matmul_precision

#: Fields that may differ between the runs of one batch (everything else must be equal).
PER_MODEL = ("seed",)


def check_batch(cfgs: Sequence[TrainConfig]) -> list[TrainConfig]:
    """The configs as a list, or a ValueError naming what keeps them from training as one batch."""
    cfgs = list(cfgs)
    if not cfgs:
        raise ValueError("cfgs: give at least one TrainConfig")
    if not all(isinstance(c, TrainConfig) for c in cfgs):
        raise ValueError(f"cfgs: must all be TrainConfig, got {sorted({type(c).__name__ for c in cfgs})}")
    for c in cfgs:
        for name, off in (("early_stop", False), ("give_up_step", None), ("lr_first", None)):
            if getattr(c, name) != off:
                raise ValueError(
                    f"{name}: a batched run has no stopping rule (it must be {off!r}), got "
                    f"{getattr(c, name)!r} for seed {c.seed}"
                )
    shared = lambda c: {k: v for k, v in dataclasses.asdict(c).items() if k not in PER_MODEL}  # noqa: E731
    first = shared(cfgs[0])
    for c in cfgs[1:]:
        diff = sorted(k for k, v in shared(c).items() if first[k] != v)
        if diff:
            raise ValueError(f"cfgs: runs of one batch may differ only in {PER_MODEL}; they differ in {diff}")
    seeds = [c.seed for c in cfgs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"cfgs: the seeds of one batch must be distinct, got {seeds}")
    return cfgs


def train_batched(
    cfgs: Sequence[TrainConfig], progress: bool | None = None, chunk: int | None = None
) -> list[TrainResult]:
    """Train the runs ``cfgs`` (one shape, distinct seeds) as one batched model; one TrainResult each.

    Equal, to float tolerance, to ``[train(c) for c in cfgs]`` (see the module docstring). ``seconds`` of
    each result is the batch's wall time divided by K. ``chunk``: steps of training strings drawn and moved
    to the device at once (default ``eval_every``; the strings are the same whatever the chunk).
    """
    cfgs = check_batch(cfgs)
    c0 = cfgs[0]
    if c0.device == "cpu":
        with single_thread():
            return _train_batched(cfgs, progress, chunk)
    return _train_batched(cfgs, progress, chunk)


def _stacked_models(cfgs: list[TrainConfig]) -> tuple[HR24Encoder, dict, dict]:
    """Each model initialised as :func:`~replication.train.hr24.train` does, then stacked: (template, params, buffers)."""
    models = []
    for c in cfgs:
        torch.manual_seed(c.seed)
        models.append(HR24Encoder(c.encoder).to(c.device))
    params, buffers = stack_module_state(models)
    template = copy.deepcopy(models[0]).to("meta")
    return template, params, buffers


def _train_batched(cfgs: list[TrainConfig], progress, chunk) -> list[TrainResult]:
    c0, K = cfgs[0], len(cfgs)
    device, n, B = c0.device, c0.n, c0.batch_size
    fn = boolean.resolve(c0.function)
    template, params, buffers = _stacked_models(cfgs)
    opt = torch.optim.AdamW(list(params.values()), lr=c0.lr, weight_decay=c0.weight_decay)
    gens = [torch.Generator().manual_seed(1_000_003 * (c.seed + 1)) for c in cfgs]
    eval_seeds = [7_919 * (c.seed + 1) + 1 for c in cfgs]
    chunk = max(1, int(chunk or c0.eval_every))

    def forward(p, b, x):  # x: (B, n) -> (B,) for one model
        return functional_call(template, (p, b), (x,))

    stacked = vmap(forward)  # (K, ...) params, (K, B, n) strings -> (K, B)

    def targets(x: torch.Tensor) -> torch.Tensor:  # (K, B, n) -> (K, B)
        return fn(x.reshape(-1, n)).reshape(x.shape[0], x.shape[1])

    def mse(x: torch.Tensor) -> torch.Tensor:  # (K, B, n) -> (K,)
        return ((stacked(params, buffers, x) - targets(x)) ** 2).mean(1)

    @torch.no_grad()
    def evaluate(size: int, offset: int) -> list[float]:
        xs = torch.stack(
            [boolean.random_strings(size, n, generator=torch.Generator().manual_seed(s + offset)) for s in eval_seeds]
        ).to(device)
        return mse(xs).tolist()

    alive = torch.ones(K, dtype=torch.bool, device=device)
    failed_at = torch.zeros(K, dtype=torch.long, device=device)  # 0: never failed
    histories: list[list[dict]] = [[{"step": 0, "loss": math.nan, "eval_mse": e}] for e in evaluate(1024, 0)]
    show = (not quiet()) if progress is None else progress
    bar = tqdm(total=c0.steps, disable=not show, leave=False, desc=f"{c0.function} n={n} ×{K} seeds")
    data: torch.Tensor | None = None
    t0 = time.perf_counter()
    with matmul_precision(c0.matmul_precision, device):
        for step in range(1, c0.steps + 1):
            i = (step - 1) % chunk
            if i == 0:  # the next `chunk` steps' strings of every model, drawn in each model's own order
                take = min(chunk, c0.steps - step + 1)
                data = torch.stack([boolean.random_strings(take * B, n, generator=g) for g in gens])
                data = data.to(device=device, dtype=torch.uint8).view(K, take, B, n)
            x = data[:, i].long()
            losses = mse(x)
            finite = torch.isfinite(losses.detach())
            newly = alive & ~finite
            failed_at = torch.where(newly, step, failed_at)
            alive = alive & finite
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            before = [p.detach().clone() for p in params.values()]
            opt.step()
            with torch.no_grad():
                for p, old in zip(params.values(), before):
                    p.copy_(torch.where(alive.view(-1, *[1] * (p.dim() - 1)), p, old))
            bar.update(1)
            if step % c0.eval_every == 0 or step == c0.steps:
                rows = evaluate(1024, step)
                ok, lost = alive.tolist(), losses.detach().tolist()
                for k in range(K):
                    if ok[k]:
                        histories[k].append({"step": step, "loss": lost[k], "eval_mse": rows[k]})
    bar.close()
    final = evaluate(c0.eval_size, 0)
    seconds = (time.perf_counter() - t0) / K
    fails = failed_at.tolist()
    out = []
    for k, c in enumerate(cfgs):
        model = HR24Encoder(c.encoder).to(device)
        model.load_state_dict({name: p[k].detach().clone() for name, p in {**params, **buffers}.items()})
        failed = fails[k] > 0
        steps_run = fails[k] - 1 if failed else c.steps
        if failed:  # as a single run: the last row is at the last evaluation before the failure
            histories[k] = [h for h in histories[k] if h["step"] <= steps_run]
        out.append(
            TrainResult(
                model=model.eval(),
                eval_mse=final[k],
                converged=not failed and final[k] < c.converge_mse,
                steps_run=steps_run,
                gave_up=False,
                seconds=seconds,
                history=histories[k],
                failed=failed,
                stopped_reason=f"non-finite training loss at step {fails[k]}" if failed else None,
                switch_step=None,
            )
        )
    return out
