"""Fresh-batch training of :class:`~replication.models.HR24Encoder` on a Boolean function (HR24 §7.1).

Every step draws a new batch of uniform strings, as the original code does; the loss is MSE on the
{0,1} (or [0,1], MEAN) targets; the optimiser is AdamW with weight decay on every parameter, no
schedule, no clipping. Runs are deterministic for a seed on the CPU: the initialisation uses
``torch.manual_seed(seed)`` and the data a separate generator, so the data stream does not depend on
the model's shape.

A run counts as *converged* when its evaluation MSE on fresh strings is below ``converge_mse``
(HR24: 1e-3); only converged runs enter the sharpness analyses.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import boolean
from .config import check_choice, check_float, check_int
from .models import EncoderConfig, HR24Encoder

#: Longest input any model is trained on (the paper's Fig. 7 reaches 512).
MAX_N = 1024


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are HR24's (App. E.1)."""

    function: str  # target: a name in boolean.FUNCTIONS
    n: int  # input length
    d: int = 128  # model width
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    d_ff: int | None = None  # feed-forward width (None: d)
    lr: float = 3e-4  # AdamW learning rate
    weight_decay: float = 0.1  # AdamW weight decay, on all parameters
    batch_size: int = 1024  # fresh strings per step
    steps: int = 10_000  # step budget
    seed: int = 0  # initialisation and data seed
    eval_size: int = 4096  # fresh strings for the evaluation MSE
    eval_every: int = 250  # steps between evaluations (history, early stop, give-up check)
    converge_mse: float = 1e-3  # convergence threshold on the evaluation MSE (HR24 §7.1)
    early_stop: bool = False  # stop as soon as the evaluation MSE is below converge_mse
    give_up_step: int | None = None  # at this step, stop a run that has plainly failed to learn ...
    give_up_ratio: float = 0.5  # ... i.e. whose eval MSE is above this fraction of Var(f) (chance level)
    device: str = "cpu"  # "cpu" or "cuda"

    def __post_init__(self):
        check_choice("function", self.function, boolean.FUNCTIONS)
        check_int("n", self.n, 1, MAX_N)
        for name in ("d", "layers", "heads", "batch_size", "eval_size", "eval_every"):
            check_int(name, getattr(self, name), 1)
        check_int("steps", self.steps, 0)
        check_int("seed", self.seed, 0)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_float("converge_mse", self.converge_mse, 0.0, 1.0, lo_open=True)
        check_float("give_up_ratio", self.give_up_ratio, 0.0, 1.0, lo_open=True)
        if self.give_up_step is not None:
            check_int("give_up_step", self.give_up_step, 1)
        check_choice("device", self.device, ("cpu", "cuda"))
        EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads, d_ff=self.d_ff)

    @property
    def encoder(self) -> EncoderConfig:
        return EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads, d_ff=self.d_ff)


@dataclass
class TrainResult:
    """What a run returns; ``history`` has one dict per evaluation."""

    model: HR24Encoder
    eval_mse: float  # final evaluation MSE on fresh strings
    converged: bool  # eval_mse < converge_mse
    steps_run: int  # steps actually taken
    gave_up: bool  # stopped early as plainly failed
    seconds: float  # wall time
    history: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "eval_mse": self.eval_mse,
            "converged": self.converged,
            "steps_run": self.steps_run,
            "gave_up": self.gave_up,
            "train_seconds": self.seconds,
        }


def target_variance(function: str, n: int) -> float:
    """Var(f(x)) over uniform x: the MSE of the best constant predictor (chance level)."""
    if n <= 16:
        t = boolean.truth_table(function, n)
        return float(t.var(unbiased=False))
    return {"parity": 0.25, "first": 0.25, "mean": 0.25 / n}.get(function, 0.25)


@torch.no_grad()
def evaluate(model, fn, n: int, size: int, seed: int, device="cpu") -> float:
    """MSE on ``size`` fresh uniform strings drawn with ``seed`` (independent of the training stream)."""
    g = torch.Generator().manual_seed(seed)
    x = boolean.random_strings(size, n, generator=g).to(device)
    was = model.training
    model.eval()
    mse = float(F.mse_loss(model(x), fn(x)))
    model.train(was)
    return mse


def quiet() -> bool:
    """Progress bars stay off under CI, in tests and in the book build (``REPLICATION_QUIET`` / ``CI``)."""
    return bool(os.environ.get("CI") or os.environ.get("REPLICATION_QUIET") or os.environ.get("PYTEST_CURRENT_TEST"))


class single_thread:
    """Run a block with one torch thread (small models train fastest that way on CPU, see
    FEASIBILITY.md), restoring the previous setting afterwards."""

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def train(
    cfg: TrainConfig,
    callback: Callable[[int, HR24Encoder], dict | None] | None = None,
    callback_every: int = 0,
    progress: bool | None = None,
) -> TrainResult:
    """Train one model on ``cfg.function`` with fresh batches.

    Args:
        cfg: the run's settings.
        callback: called as ``callback(step, model)`` every ``callback_every`` steps (and at step 0 and
            the end); a returned dict is merged into that step's history row (used for dynamics).
        progress: show a tqdm bar; default: on unless :func:`quiet`.
    """
    if cfg.device == "cpu":
        with single_thread():
            return _train(cfg, callback, callback_every, progress)
    return _train(cfg, callback, callback_every, progress)


def _train(cfg, callback, callback_every, progress) -> TrainResult:
    fn = boolean.resolve(cfg.function)
    device = cfg.device
    torch.manual_seed(cfg.seed)
    model = HR24Encoder(cfg.encoder).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    g = torch.Generator().manual_seed(1_000_003 * (cfg.seed + 1))
    eval_seed = 7_919 * (cfg.seed + 1) + 1
    chance = target_variance(cfg.function, cfg.n)
    history: list[dict] = []
    t0 = time.perf_counter()
    gave_up = checked = False
    step = 0
    show = (not quiet()) if progress is None else progress
    bar = tqdm(total=cfg.steps, disable=not show, leave=False, desc=f"{cfg.function} n={cfg.n} seed={cfg.seed}")

    def log(step, loss):
        row = {"step": step, "loss": loss, "eval_mse": evaluate(model, fn, cfg.n, 1024, eval_seed + step, device)}
        if callback is not None and (callback_every and step % callback_every == 0 or step == cfg.steps):
            row.update(callback(step, model) or {})
        history.append(row)
        return row

    log(0, float("nan"))
    loss_val = float("nan")
    for step in range(1, cfg.steps + 1):
        x = boolean.random_strings(cfg.batch_size, cfg.n, generator=g).to(device)
        loss = F.mse_loss(model(x), fn(x))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_val = float(loss.detach())
        bar.update(1)
        due_cb = callback is not None and callback_every and step % callback_every == 0
        if step % cfg.eval_every == 0 or due_cb or step == cfg.steps:
            row = log(step, loss_val)
            bar.set_postfix(eval_mse=f"{row['eval_mse']:.2e}")
            if cfg.early_stop and row["eval_mse"] < cfg.converge_mse:
                break
            first_check = cfg.give_up_step is not None and step >= cfg.give_up_step and not checked
            if first_check:
                checked = True
            if first_check and row["eval_mse"] > cfg.give_up_ratio * chance:
                gave_up = True
                break
    bar.close()
    model.eval()
    final = evaluate(model, fn, cfg.n, cfg.eval_size, eval_seed, device)
    return TrainResult(
        model=model,
        eval_mse=final,
        converged=final < cfg.converge_mse,
        steps_run=step,
        gave_up=gave_up,
        seconds=time.perf_counter() - t0,
        history=history,
    )
