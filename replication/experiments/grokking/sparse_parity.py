"""Chapter 12, second experiment: sensitivity while learning a sparse parity (V25 App. A.6).

:class:`ParityRun` trains the HR24 encoder (:mod:`replication.models`) on a k-sparse parity of ``n`` bits:
a fixed training set sampled once, minibatches drawn from it with replacement, AdamW, the logistic loss
on the ``{0, 1}`` label, the prediction ``logit > 0``. At every evaluation it logs training and test
accuracy and the Boolean sensitivity of the predictions (:func:`flip_sensitivity`): the fraction of
(string, bit) pairs whose predicted label changes when that one bit is flipped, V25 Eq. 1 divided by
``n``. A model computing the parity exactly flips on exactly the ``k`` support bits, so it scores ``k/n``
(0.1 at V25's d = 40, k = 4). The support is drawn from the seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial

import pandas as pd
import torch
import torch.nn.functional as F

from ...tasks import boolean
from ...report.claims import Claim, claims_for, fmt
from ...report.text import span as _span
from ...checks import KEY_OMIT_DEFAULT, check_float, check_int
from ...models.encoder import EncoderConfig, HR24Encoder
from ...measures.phases import parity_phases
from ...runs.sweep import sweep_curves
from ...runs.store import Store
from ...runs.chapters import kind
from ...train import fit

PARITY_KIND = kind("sparse_parity_run", __name__)
CLAIM = claims_for(__name__)
#: Sensitivity "rises" on the plateau when it climbs above its step-0 value by this share of k/n.
RISE = 0.25
#: Test accuracy at which a run has learnt the parity (:func:`~replication.measures.phases.parity_phases`).
LEARNED = 0.99


@dataclass(frozen=True)
class ParityRun:
    """One sparse-parity run: the cache key of :func:`measure_parity`."""

    n: int  # input bits (V25's d)
    k: int  # support size of the parity (V25's p)
    seed: int  # support, data and initialisation seed
    n_train: int  # fixed training strings
    batch_size: int  # minibatch
    d: int  # encoder width
    layers: int  # encoder layers
    heads: int  # attention heads
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay
    steps: int  # minibatch steps
    eval_every: int  # steps between evaluations
    n_test: int  # fresh test strings
    n_sens: int  # strings whose n one-bit neighbours measure the sensitivity
    after_learn: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})  # stop at the first evaluation this
    #              many steps after test accuracy first reaches LEARNED; 0: train every step

    def __post_init__(self):
        check_int("parity_n", self.n, 2, 1024)
        check_int("parity_k", self.k, 1, self.n)
        for name in ("n_train", "batch_size", "layers", "heads", "steps", "eval_every", "n_test", "n_sens"):
            check_int(f"parity_{name}", getattr(self, name), 1)
        check_int("seed", self.seed, 0)
        check_int("parity_after_learn", self.after_learn, 0)
        check_float("parity_lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("parity_weight_decay", self.weight_decay, 0.0, 10.0)
        self.encoder()

    def encoder(self) -> EncoderConfig:
        return EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads)

    @property
    def support(self) -> tuple[int, ...]:
        g = torch.Generator().manual_seed(5_000 + self.seed)
        return tuple(sorted(torch.randperm(self.n, generator=g)[: self.k].tolist()))


@dataclass(frozen=True)
class ParityTrial:
    """One trial setting of the sparse parity: what differs from the chapter's parity run, and how many seeds.

    The chapter's own setting is one of its trials, so the trial table and the chapter share runs.
    """

    n: int  # input bits
    k: int  # support size
    n_train: int  # fixed training strings
    batch_size: int  # minibatch
    steps: int  # step budget
    seeds: int  # seeds 0..seeds-1
    after_learn: int = 0  # stop this many steps after learning (0: the whole budget)

    def __post_init__(self):
        check_int("parity_trials: seeds", self.seeds, 1, 100)

    def runs(self, base: ParityRun) -> list[ParityRun]:
        """The trial's runs: ``base`` with this trial's fields, one per seed."""
        return [
            dataclasses.replace(
                base,
                n=self.n,
                k=self.k,
                n_train=self.n_train,
                batch_size=self.batch_size,
                steps=self.steps,
                after_learn=self.after_learn,
                seed=s,
            )
            for s in range(self.seeds)
        ]

    @property
    def label(self) -> str:
        return f"n = {self.n}, k = {self.k}, {self.n_train:,} strings, batch {self.batch_size}, {self.steps:,} steps"


def as_trial(t) -> ParityTrial:
    """A :class:`ParityTrial` from itself or a tuple/list of its fields (in order) or a dict of them."""
    if isinstance(t, ParityTrial):
        return t
    if isinstance(t, dict):
        return ParityTrial(**t)
    if isinstance(t, (tuple, list)) and 6 <= len(t) <= 7:
        return ParityTrial(*t)
    raise ValueError(
        f"parity_trials: each trial must be (n, k, n_train, batch_size, steps, seeds[, after_learn]), got {t!r}"
    )


def trial_table(curves: pd.DataFrame, trials: list[ParityTrial]) -> pd.DataFrame:
    """One row per trial: seeds that learnt the parity (test ≥ 99%), their steps to learn, seconds per step."""
    rows = []
    for t in trials:
        c = curves[
            (curves["n"] == t.n)
            & (curves["k"] == t.k)
            & (curves["n_train"] == t.n_train)
            & (curves["batch_size"] == t.batch_size)
            & (curves["steps"] == t.steps)
            & (curves["after_learn"].fillna(0) == t.after_learn if "after_learn" in curves else t.after_learn == 0)
            & (curves["seed"] < t.seeds)
        ]
        tab = parity_table(c) if len(c) else pd.DataFrame(columns=["learned", "t_learn", "steps_run", "train_seconds"])
        learnt = tab[tab["learned"].astype(bool)]
        rows.append(
            {
                "trial": t.label,
                "learnt": f"{len(learnt)}/{len(tab)}",
                "learnt at step": span(learnt["t_learn"]) if len(learnt) else "never",
                "seconds per step": (tab["train_seconds"] / tab["steps_run"]).median() if len(tab) else float("nan"),
                "train seconds": tab["train_seconds"].sum(),
            }
        )
    return pd.DataFrame(rows)


@torch.no_grad()
def flip_sensitivity(model, x: torch.Tensor) -> float:
    """Fraction of (string, bit) pairs whose predicted label (logit > 0) changes when that bit flips."""
    B, n = x.shape
    base = model(x) > 0  # (B,)
    flipped = model(boolean.flip_each_bit(x).reshape(B * n, n)).reshape(B, n) > 0  # (B, n)
    return float((flipped != base[:, None]).float().mean())


def measure_parity(run: ParityRun, device: str = "cpu") -> dict:
    """Train the encoder on ``run``'s sparse parity with minibatches; log accuracy and sensitivity."""
    fn = boolean.sparse_parity(run.support)
    g = torch.Generator().manual_seed(20_011 + run.seed)
    x_train = boolean.random_strings(run.n_train, run.n, generator=g)
    x_test = boolean.random_strings(run.n_test, run.n, generator=g)
    x_sens = boolean.random_strings(run.n_sens, run.n, generator=g)
    y_train, y_test = fn(x_train).float(), fn(x_test).float()
    torch.manual_seed(run.seed)
    model = HR24Encoder(run.encoder()).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)

    def batches():
        i = torch.randint(0, run.n_train, (run.batch_size,), generator=g)
        return x_train[i].to(device), y_train[i].to(device)

    def loss_fn(m, batch):
        return F.binary_cross_entropy_with_logits(m(batch[0]), batch[1])

    @torch.no_grad()
    def evaluate(step, m) -> dict:
        acc = lambda x, y: float(((m(x.to(device)) > 0).float() == y.to(device)).float().mean())  # noqa: E731
        return {
            "train_acc": acc(x_train[: run.n_test], y_train[: run.n_test]),
            "test_acc": acc(x_test, y_test),
            "sensitivity": flip_sensitivity(m, x_sens.to(device)),
        }

    learnt: list[int] = []

    def stop(row):
        if row["test_acc"] >= LEARNED and not learnt:
            learnt.append(row["step"])
        if run.after_learn and learnt and row["step"] >= learnt[0] + run.after_learn:
            return f"learnt at step {learnt[0]}; stopped {row['step'] - learnt[0]} steps later"
        return None

    res = fit(
        model, batches, loss_fn, opt, run.steps, eval_every=run.eval_every, evaluate=evaluate, stop=stop, progress=False
    )
    keep = ("step", "train_acc", "test_acc", "sensitivity")
    return {
        "history": [{k: (int if k == "step" else float)(r[k]) for k in keep} for r in res.history],
        "support": list(run.support),
        "steps_run": res.steps_run,
        "failed": res.failed,
        "train_seconds": res.seconds,
    }


#: ``"lo–hi"`` of the finite values, formatted; one number when they agree, ``"nan"`` when there are none.
rng = partial(_span, empty="nan")
#: ``"lo–hi"`` of the finite values as whole steps, ``"none"`` if there are none.
span = partial(_span, fmt=int)


def parity_curves(runs: list[ParityRun], cache: Store | None = None, n_jobs: int = 2, progress=None) -> pd.DataFrame:
    """Every evaluation of every sparse-parity run: one row per (seed, step), run fields repeated."""
    return sweep_curves(runs, measure_parity, PARITY_KIND, cache, n_jobs, progress)


def parity_table(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per sparse-parity run: :func:`~replication.measures.phases.parity_phases` against ``k/n``."""
    rows = []
    for seed, h in curves.groupby("seed", sort=True):
        r = h.iloc[0]
        ph = parity_phases(h["step"], h["test_acc"], h["sensitivity"], r["k"] / r["n"], learned=LEARNED)
        rows.append(
            {
                "seed": seed,
                "learned": ph["t_learn"] is not None,
                **ph,
                "steps_run": r["steps_run"],
                "final_train_acc": float(h["train_acc"].iloc[-1]),
                "final_test_acc": float(h["test_acc"].iloc[-1]),
                "train_seconds": r["train_seconds"],
            }
        )
    return pd.DataFrame(rows)


def parity_claims(parity: pd.DataFrame, n: int, k: int, scale: str) -> list[Claim]:
    """The two sparse-parity claims of V25 App. A.6, computed from :func:`parity_table`."""
    target, out = k / n, []
    learned, rest = parity[parity["learned"].astype(bool)], parity[~parity["learned"].astype(bool)]
    judged = f"the {len(learned)} of {len(parity)} runs that learnt the parity"
    rose = learned["sens_plateau_max"] - learned["sens_start"] >= RISE * target
    rise = bool(len(learned) and rose.all())
    out.append(
        CLAIM(
            f"Sparse parity (n = {n}, k = {k}): sensitivity rises while accuracy sits near 50%",
            "V25 App. A.6, Fig. 26",
            "rises during the initial epochs at ≈ 50% accuracy",
            f"{rng(learned['sens_start'])} at step 0 → up to {rng(learned['sens_plateau_max'])} before test accuracy "
            f"reached 60% ({judged})",
            rise,
            scale,
            f"check: in each of {judged} (V25 show runs that learn it) the smoothed sensitivity, before test accuracy "
            f"first reaches 60%, rises above its value at step 0 by at least {RISE:g} × k/n"
            + (
                ""
                if rise
                else (
                    f"; fails in seeds {', '.join(str(x) for x in learned.loc[~rose, 'seed'])}"
                    if len(learned)
                    else "; fails: no run learnt the parity"
                )
            )
            + (
                f"; in the runs that never learnt it (seeds {', '.join(str(x) for x in rest['seed'])}) sensitivity went "
                f"from {rng(rest['sens_start'])} to at most {rng(rest['sens_plateau_max'])}, with training accuracy "
                f"{rng(rest['final_train_acc'])} and test {rng(rest['final_test_acc'])} at the end"
                + (
                    " (memorisation of the training strings)"
                    if (rest["final_train_acc"] > rest["final_test_acc"] + 0.05).any()
                    else ""
                )
                if len(rest)
                else ""
            ),
            kind="paper",
            section="Sparse parity (V25 App. A.6)",
        )
    )
    near = bool(len(learned) and ((learned["sens_final"] - target).abs() <= 0.2 * target).all())
    out.append(
        CLAIM(
            f"Sparse parity: sensitivity settles at k/n = {fmt(target)} as accuracy reaches 100%",
            "V25 App. A.6, Fig. 26",
            fmt(target),
            f"{rng(learned['sens_final'])} after test ≥ 99% "
            f"({len(learned)}/{len(parity)} runs learnt it, at steps {span(learned['t_learn'])})",
            near,
            scale,
            f"check: in each of {judged}, the mean sensitivity from the first evaluation with test accuracy ≥ 99% on is "
            f"within 20% of k/n"
            + (
                ""
                if near
                else "; fails: " + ("the final sensitivity is off k/n" if len(learned) else "no run learnt the parity")
            )
            + (
                f"; {len(rest)} of {len(parity)} runs did not learn it within {span(rest['steps_run'])} steps"
                if len(rest)
                else ""
            ),
            kind="paper",
            section="Sparse parity (V25 App. A.6)",
        )
    )
    return out


def parity_describe(parity: pd.DataFrame, n: int, k: int) -> str:
    """A few sentences (Markdown) with the sparse-parity runs' numbers, for the notebook to display."""
    learned = parity[parity["learned"].astype(bool)]
    lines = [
        f"At step 0 the sensitivity was {rng(parity['sens_start'])}. "
        f"While test accuracy stayed under 60% it rose to {rng(parity['sens_plateau_max'])} and stood at "
        f"{rng(parity['sens_plateau_end'])} at its last evaluation before test accuracy reached 60% "
        f"(at steps {span(parity['t_leave'])})."
    ]
    if len(learned):
        lines.append(
            f"{len(learned)} of {len(parity)} runs learnt the parity (test accuracy ≥ 99%) at steps "
            f"{span(learned['t_learn'])}; from then on their sensitivity averaged "
            f"{rng(learned['sens_final'])}, against k/n = {fmt(k / n)}."
        )
    rest = parity[~parity["learned"].astype(bool)]
    if len(rest):
        lines.append(
            f"Seed(s) {', '.join(str(x) for x in rest['seed'])} did not learn it within the budget: at the "
            f"end their training accuracy was {rng(rest['final_train_acc'])} and their test accuracy "
            f"{rng(rest['final_test_acc'])}, so what they learnt was (part of) their training strings; "
            f"their sensitivity ended at {rng(rest['sens_plateau_end'])}. They stay in every table."
        )
    return " ".join(lines)
