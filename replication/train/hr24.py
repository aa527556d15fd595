"""HR24 §7.1's run: an encoder trained on fresh uniform strings of a Boolean function, :func:`train`.

:func:`train` is HR24 §7.1 on top of it: every step draws a new batch of uniform strings, as the
original code does; the loss is MSE on the {0,1} (or [0,1], MEAN) targets; the optimiser is AdamW with
weight decay on every parameter, no schedule, no clipping. Runs are deterministic for a seed on the
CPU: the initialisation uses ``torch.manual_seed(seed)`` and the data a separate generator, so the data
stream does not depend on the model's shape.

A run counts as *converged* when its evaluation MSE on fresh strings is below ``converge_mse``
(HR24 §7.1: 1e-3) and its training stayed finite; only converged runs enter the sharpness analyses.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import KEY_OMIT_DEFAULT, check_choice, check_float, check_int
from ..measures import sensitivity
from ..models.encoder import EncoderConfig, HR24Encoder
from ..tasks import boolean
from .fit import fit, single_thread


#: Longest input any trained model takes (HR24's Fig. 7 reaches 512).
MAX_INPUT_LENGTH = 1024


#: ``stopped_reason`` of a :func:`train` run stopped by ``early_stop`` (evaluation MSE below ``converge_mse``).
EARLY_STOP = "early stop: eval MSE below converge_mse"


#: ``stopped_reason`` of a :func:`train` run stopped at ``give_up_step`` (evaluation MSE near chance).
GAVE_UP = "gave up: eval MSE above give_up_ratio * Var(f) at give_up_step"


#: ``stopped_reason`` of a two-phase run that did not leave its plateau within ``first_max_steps``.
NO_PLATEAU_EXIT = "gave up: no plateau exit within first_max_steps"


#: ``stopped_reason`` of a two-phase run that finished its ``steps`` at the final learning rate.
PHASE_DONE = "done: steps at the final learning rate"


#: ``TrainConfig.matmul_precision``: "highest" (float32 products) or "high" (TF32 products on CUDA).
MATMUL_PRECISIONS = ("highest", "high")


@contextlib.contextmanager
def matmul_precision(precision: str, device: str):
    """Within the block, CUDA matrix products use TF32 when ``precision`` is "high" (nothing changes on the
    CPU); the previous setting is restored after it, so measurements run in float32."""
    check_choice("matmul_precision", precision, MATMUL_PRECISIONS)
    if device != "cuda":
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "high"
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


#: A run has left its plateau at the first evaluation whose MSE is below this fraction of Var(f).
PLATEAU_EXIT_RATIO = 0.5


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are HR24's (App. E.1)."""

    function: str  # target: a name in boolean.FUNCTIONS
    n: int  # input length
    d: int = 128  # model width
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    d_ff: int | None = None  # feed-forward width (None: d)
    lr: float = 3e-4  # AdamW learning rate (with lr_first: the final phase's)
    weight_decay: float = 0.1  # AdamW weight decay, on all parameters
    batch_size: int = 1024  # fresh strings per step
    steps: int = 10_000  # step budget (with lr_first: the steps at lr after the plateau exit)
    seed: int = 0  # initialisation and data seed
    eval_size: int = 4096  # fresh strings for the evaluation MSE
    eval_every: int = 250  # steps between evaluations (history, callback, early stop, give-up check)
    converge_mse: float = 1e-3  # convergence threshold on the evaluation MSE (HR24 §7.1)
    early_stop: bool = False  # stop as soon as the evaluation MSE is below converge_mse
    give_up_step: int | None = None  # at this step, stop a run that has plainly failed to learn ...
    give_up_ratio: float = 0.5  # ... i.e. whose eval MSE is above this fraction of Var(f) (chance level)
    device: str = "cpu"  # "cpu" or "cuda"
    # Two phases (added after results were stored: at their defaults they stay out of cache keys).
    lr_first: float | None = field(default=None, metadata={KEY_OMIT_DEFAULT: True})  # lr until the plateau exit
    first_max_steps: int | None = field(default=None, metadata={KEY_OMIT_DEFAULT: True})  # give up after this step
    # "high": TF32 matrix products while training on CUDA (measurements stay float32); added later, so the
    # default stays out of cache keys and TF32 runs never share a key with float32 ones.
    matmul_precision: str = field(default="highest", metadata={KEY_OMIT_DEFAULT: True})

    def __post_init__(self):
        check_choice("function", self.function, boolean.FUNCTIONS)
        check_int("n", self.n, 1, MAX_INPUT_LENGTH)
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
        check_choice("matmul_precision", self.matmul_precision, MATMUL_PRECISIONS)
        if self.lr_first is not None:
            check_float("lr_first", self.lr_first, 0.0, 1.0, lo_open=True)
            if self.first_max_steps is None:
                raise ValueError("first_max_steps: required with lr_first (the step by which the plateau must be left)")
            check_int("first_max_steps", self.first_max_steps, self.eval_every)
            for name in ("steps", "first_max_steps"):
                if getattr(self, name) % self.eval_every:
                    raise ValueError(
                        f"{name}: must be a multiple of eval_every={self.eval_every} with lr_first, "
                        f"got {getattr(self, name)}"
                    )
            if self.give_up_step is not None or self.early_stop:
                raise ValueError(
                    "lr_first: a two-phase run gives up by first_max_steps; leave give_up_step None "
                    "and early_stop False"
                )
        elif self.first_max_steps is not None:
            raise ValueError(f"first_max_steps: only with lr_first, got {self.first_max_steps} without it")
        EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads, d_ff=self.d_ff)

    @property
    def encoder(self) -> EncoderConfig:
        return EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads, d_ff=self.d_ff)


@dataclass
class TrainResult:
    """What a run returns; ``history`` has one dict per evaluation (see :func:`fit`)."""

    model: HR24Encoder
    eval_mse: float  # final evaluation MSE on fresh strings (may be NaN for a failed run)
    converged: bool  # eval_mse < converge_mse, and not failed
    steps_run: int  # optimiser steps taken
    gave_up: bool  # stopped early as plainly failed to learn (give_up_step)
    seconds: float  # wall time
    history: list[dict] = field(default_factory=list)
    failed: bool = False  # the training loss went non-finite; training stopped there
    stopped_reason: str | None = None  # why training stopped before the budget (FitResult.stopped_reason)
    switch_step: int | None = None  # two phases: the step of the plateau exit, where lr took over

    def summary(self) -> dict:
        return {
            "eval_mse": self.eval_mse,
            "converged": self.converged,
            "steps_run": self.steps_run,
            "gave_up": self.gave_up,
            "failed": self.failed,
            "train_seconds": self.seconds,
            "switch_step": self.switch_step,
        }


def target_variance(function: str, n: int) -> float:
    """Var(f(x)) over uniform x: the MSE of the best constant predictor (chance level)."""
    if n <= 16:
        t = sensitivity.truth_table(function, n)
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


def train(
    cfg: TrainConfig, callback: Callable[[int, HR24Encoder], dict | None] | None = None, progress: bool | None = None
) -> TrainResult:
    """Train one :class:`~replication.models.encoder.HR24Encoder` on ``cfg.function`` with fresh batches (HR24 §7.1).

    The loop is :func:`fit`. Evaluation MSE on 1024 fresh strings is logged at step 0, every
    ``cfg.eval_every`` steps and at the end; ``early_stop`` ends the run at the first evaluation below
    ``converge_mse``; ``give_up_step`` ends it at the first evaluation at or after that step if the
    evaluation MSE is still above ``give_up_ratio * Var(f)``. The final ``eval_mse`` is measured on
    ``cfg.eval_size`` fresh strings. A run whose training loss goes non-finite stops there, is
    ``failed`` and never ``converged``.

    **Two phases** (``lr_first``, a deviation from HR24 for short budgets): AdamW runs at ``lr_first``
    until the plateau exit, the first evaluation (after step 0) whose MSE is below
    :data:`PLATEAU_EXIT_RATIO` × Var(f); from there the learning rate is ``lr`` and the run takes exactly
    ``steps`` more steps, so every run is measured after the same number of steps at the final learning
    rate. A run that has not left its plateau by ``first_max_steps`` gives up (``gave_up``).

    Args:
        cfg: the run's settings.
        callback: called as ``callback(step, model)`` at every evaluation; a returned dict is merged
            into that step's history row (used for dynamics).
        progress: show a tqdm bar; default: on unless :func:`quiet`.
    """
    if cfg.device == "cpu":
        with single_thread():
            return _train(cfg, callback, progress)
    return _train(cfg, callback, progress)


def step_seconds(cfg: TrainConfig, steps: int = 3, repeats: int = 3) -> float:
    """Wall seconds of one training step (forward, backward, AdamW update) of ``cfg``'s model and batch on
    this machine, measured now: the median over ``repeats`` of ``steps`` timed steps, after one untimed
    step. Single-threaded on the CPU, as :func:`train` is. The figures that explain the `cpu` presets come
    from here (measured when the page is built), not from numbers typed into prose.
    """
    check_int("steps", steps, 1, 1000)
    check_int("repeats", repeats, 1, 100)
    fn = boolean.resolve(cfg.function)
    torch.manual_seed(cfg.seed)
    model = HR24Encoder(cfg.encoder).to(cfg.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    g = torch.Generator().manual_seed(cfg.seed)
    x = boolean.random_strings(cfg.batch_size, cfg.n, generator=g).to(cfg.device)
    y = fn(x)

    def step():
        opt.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        opt.step()

    def timed() -> float:
        step()  # warm-up
        times = []
        for _ in range(repeats):
            if cfg.device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            if cfg.device == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) / steps)
        return sorted(times)[len(times) // 2]

    if cfg.device == "cpu":
        with single_thread():
            return timed()
    return timed()


def _train(cfg: TrainConfig, callback, progress) -> TrainResult:
    # The order of random draws is fixed (cached results depend on it): the model's initialisation
    # from torch.manual_seed(seed), then the training strings from their own generator; the
    # evaluation strings use fixed seeds of their own.
    fn = boolean.resolve(cfg.function)
    device = cfg.device
    torch.manual_seed(cfg.seed)
    model = HR24Encoder(cfg.encoder).to(device)
    two_phase = cfg.lr_first is not None
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr_first if two_phase else cfg.lr, weight_decay=cfg.weight_decay)
    g = torch.Generator().manual_seed(1_000_003 * (cfg.seed + 1))
    eval_seed = 7_919 * (cfg.seed + 1) + 1
    chance = target_variance(cfg.function, cfg.n)
    t0 = time.perf_counter()

    def batches() -> torch.Tensor:
        return boolean.random_strings(cfg.batch_size, cfg.n, generator=g).to(device)

    def mse(model, x) -> torch.Tensor:
        return F.mse_loss(model(x), fn(x))

    def eval_row(step, model) -> dict:
        return {"eval_mse": evaluate(model, fn, cfg.n, 1024, eval_seed + step, device)}

    checked = False
    switch_step = None

    def stop(row) -> str | None:
        nonlocal checked, switch_step
        step = row["step"]
        if step == 0:
            return None
        if two_phase:
            if switch_step is None:
                if row["eval_mse"] < PLATEAU_EXIT_RATIO * chance:
                    switch_step = step
                    for group in opt.param_groups:
                        group["lr"] = cfg.lr
                    return None
                return NO_PLATEAU_EXIT if step >= cfg.first_max_steps else None
            return PHASE_DONE if step >= switch_step + cfg.steps else None
        if cfg.early_stop and row["eval_mse"] < cfg.converge_mse:
            return EARLY_STOP
        if cfg.give_up_step is not None and step >= cfg.give_up_step and not checked:
            checked = True
            if row["eval_mse"] > cfg.give_up_ratio * chance:
                return GAVE_UP
        return None

    budget = cfg.first_max_steps + cfg.steps if two_phase else cfg.steps
    with matmul_precision(cfg.matmul_precision, device):
        res = fit(
            model,
            batches,
            mse,
            opt,
            budget,
            eval_every=cfg.eval_every,
            evaluate=eval_row,
            callback=callback,
            stop=stop,
            progress=progress,
            desc=f"{cfg.function} n={cfg.n} seed={cfg.seed}",
        )
    model.eval()
    final = evaluate(model, fn, cfg.n, cfg.eval_size, eval_seed, device)
    return TrainResult(
        model=model,
        eval_mse=final,
        converged=not res.failed and final < cfg.converge_mse,
        steps_run=res.steps_run,
        gave_up=res.stopped_reason in (GAVE_UP, NO_PLATEAU_EXIT),
        seconds=time.perf_counter() - t0,
        history=res.history,
        failed=res.failed,
        stopped_reason=res.stopped_reason,
        switch_step=switch_step,
    )
