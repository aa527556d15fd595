"""Chapter 12's modular-addition run (:class:`GrokRun`, the cache key of :func:`~.runs.measure_grokking`) and the
trial settings behind the `cpu` preset (:class:`GrokTrial`); the chapter's config is :mod:`.config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ...checks import KEY_OMIT_DEFAULT, check_float, check_int


@dataclass(frozen=True)
class GrokRun:
    """One modular-addition run: the cache key of :func:`measure_grokking`."""

    p: int  # modulus; tokens 0..p-1 and "=" (id p)
    train_fraction: float  # share of the p² pairs used for training
    seed: int  # split, initialisation and noise seed
    d: int  # model width
    heads: int  # attention heads
    d_ff: int  # MLP width
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay (all parameters)
    steps: int  # full-batch steps (= epochs)
    eval_every: int  # steps between evaluations
    sigma: float  # sensitivity: std of the noise on the number embeddings
    draws: int  # sensitivity: noise draws per training pair, averaged
    after_grok: int | None  # stop this many steps after test accuracy first reaches 95% (None: never)
    # Dense early evaluations (memorisation happens in the first few hundred steps): every `dense_every` steps
    # up to step `dense_until`, every `eval_every` steps after. 0, 0: off (the keys of older runs are kept).
    dense_until: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})
    dense_every: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})
    # A second sensitivity with `multi_draws` draws (its own noise stream), logged as `sensitivity_multi` at every
    # evaluated multiple of `multi_every` and at the last step, beside the `draws`-draw one. 0, 0: off.
    multi_draws: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})
    multi_every: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})

    def __post_init__(self):
        check_int("p", self.p, 3, 1000)
        if check_float("train_fraction", self.train_fraction, 0.0, lo_open=True) >= 1:
            raise ValueError(
                f"train_fraction: must be a number in (0, 1), the share of the p² pairs used for "
                f"training, got {self.train_fraction}"
            )
        n_train = int(self.train_fraction * self.p**2)
        if not 1 <= n_train < self.p**2:
            raise ValueError(
                f"train_fraction: must leave at least one training and one test pair out of "
                f"p² = {self.p**2}, got {self.train_fraction} ({n_train} training pairs)"
            )
        for name in ("d", "heads", "d_ff", "eval_every", "draws"):
            check_int(name, getattr(self, name), 1)
        if self.d % self.heads:
            raise ValueError(f"heads: must divide d = {self.d}, got {self.heads}")
        check_int("seed", self.seed, 0)
        check_int("steps", self.steps, 1, 10**6)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_float("sigma", self.sigma, 0.0, 10.0, lo_open=True)
        if self.after_grok is not None:
            check_int("after_grok", self.after_grok, 0)
        check_int("dense_until", self.dense_until, 0, self.steps)
        check_int("dense_every", self.dense_every, 0, self.eval_every)
        if (self.dense_until == 0) != (self.dense_every == 0):
            raise ValueError(
                f"dense_until, dense_every: both 0 (no dense early evaluations) or both >= 1, got "
                f"dense_until={self.dense_until}, dense_every={self.dense_every}"
            )
        check_int("multi_draws", self.multi_draws, 0, 1000)
        check_int("multi_every", self.multi_every, 0, 10**6)
        if (self.multi_draws == 0) != (self.multi_every == 0):
            raise ValueError(
                f"multi_draws, multi_every: both 0 (no second sensitivity) or both >= 1, got "
                f"multi_draws={self.multi_draws}, multi_every={self.multi_every}"
            )
        if self.multi_every and self.multi_every % self.eval_every:
            raise ValueError(
                f"multi_every: must be a multiple of eval_every = {self.eval_every} (the second "
                f"sensitivity is measured at evaluations), got {self.multi_every}"
            )

    def multi_at(self, step: int) -> bool:
        """Whether the run measures the several-draw sensitivity after ``step`` (always at step 0 and the last)."""
        return bool(self.multi_every) and (step % self.multi_every == 0 or step == self.steps)

    def evaluated_at(self, step: int) -> bool:
        """Whether the run evaluates after ``step`` (step 0 and the last step always are)."""
        dense = self.dense_every and step <= self.dense_until and step % self.dense_every == 0
        return bool(dense or step % self.eval_every == 0)


@dataclass(frozen=True)
class GrokTrial:
    """One modular-addition setting tried before the `cpu` preset was chosen: what differs from the preset's runs."""

    p: int  # modulus
    train_fraction: float  # share of pairs used for training
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay
    seeds: int  # seeds 0..seeds-1

    def __post_init__(self):
        check_int("grok_trials: seeds", self.seeds, 1, 100)

    def runs(self, base: GrokRun) -> list[GrokRun]:
        return [
            dataclasses.replace(
                base, p=self.p, train_fraction=self.train_fraction, lr=self.lr, weight_decay=self.weight_decay, seed=s
            )
            for s in range(self.seeds)
        ]

    @property
    def label(self) -> str:
        return f"p = {self.p}, fraction {self.train_fraction:g}, lr {self.lr:g}, weight decay {self.weight_decay:g}"
