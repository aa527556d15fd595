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

from dataclasses import dataclass
from functools import partial

import pandas as pd
import torch
import torch.nn.functional as F

from ...tasks import boolean
from ...report.claims import Claim, fmt
from ...report.text import span as _span
from ...checks import check_float, check_int
from ...models.encoder import EncoderConfig, HR24Encoder
from ...measures.phases import parity_phases
from ...runs.sweep import sweep_curves
from ...runs.store import Store
from ...runs.chapters import chapter, kind
from ...train import fit

PARITY_KIND = kind("sparse_parity_run", __name__)
#: Sensitivity "rises" on the plateau when it climbs above its step-0 value by this share of k/n.
RISE = 0.25


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

    def __post_init__(self):
        check_int("parity_n", self.n, 2, 1024)
        check_int("parity_k", self.k, 1, self.n)
        for name in ("n_train", "batch_size", "layers", "heads", "steps", "eval_every", "n_test", "n_sens"):
            check_int(f"parity_{name}", getattr(self, name), 1)
        check_int("seed", self.seed, 0)
        check_float("parity_lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("parity_weight_decay", self.weight_decay, 0.0, 10.0)
        self.encoder()

    def encoder(self) -> EncoderConfig:
        return EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads)

    @property
    def support(self) -> tuple[int, ...]:
        g = torch.Generator().manual_seed(5_000 + self.seed)
        return tuple(sorted(torch.randperm(self.n, generator=g)[: self.k].tolist()))




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
        return {"train_acc": acc(x_train[: run.n_test], y_train[: run.n_test]), "test_acc": acc(x_test, y_test),
                "sensitivity": flip_sensitivity(m, x_sens.to(device))}  # fmt: skip

    res = fit(model, batches, loss_fn, opt, run.steps, eval_every=run.eval_every, evaluate=evaluate, progress=False)
    keep = ("step", "train_acc", "test_acc", "sensitivity")
    return {"history": [{k: (int if k == "step" else float)(r[k]) for k in keep} for r in res.history],
            "support": list(run.support),
            "steps_run": res.steps_run, "failed": res.failed, "train_seconds": res.seconds}  # fmt: skip




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
        ph = parity_phases(h["step"], h["test_acc"], h["sensitivity"], r["k"] / r["n"])
        rows.append({"seed": seed, "learned": ph["t_learn"] is not None, **ph, "steps_run": r["steps_run"],
                     "final_train_acc": float(h["train_acc"].iloc[-1]),
                     "final_test_acc": float(h["test_acc"].iloc[-1]),
                     "train_seconds": r["train_seconds"]})  # fmt: skip
    return pd.DataFrame(rows)


def parity_claims(parity: pd.DataFrame, n: int, k: int, scale: str, chapter: str = chapter(__name__).stem) -> list[Claim]:
    """The two sparse-parity claims of V25 App. A.6, computed from :func:`parity_table`."""
    target, out = k / n, []
    learned, rest = parity[parity["learned"].astype(bool)], parity[~parity["learned"].astype(bool)]
    rise = bool(len(parity) and (parity["sens_plateau_max"] - parity["sens_start"] >= RISE * target).all())
    out.append(Claim(
        chapter, f"Sparse parity (n = {n}, k = {k}): sensitivity rises while accuracy sits near 50%",
        "V25 App. A.6, Fig. 26", "rises during the initial epochs at ≈ 50% accuracy",
        f"{rng(parity['sens_start'])} at step 0 → up to {rng(parity['sens_plateau_max'])} before test accuracy "
        f"reached 60% ({len(parity)} runs)", rise, scale,
        f"check: in every run the smoothed sensitivity, before test accuracy first reaches 60%, rises above its "
        f"value at step 0 by at least {RISE:g} × k/n" + ("" if rise else "; fails in at least one run")
        + (f"; in the runs that never learnt the parity (seeds {', '.join(str(x) for x in rest['seed'])}) the rise "
           f"came with memorisation: training accuracy {rng(rest['final_train_acc'])} at the end, test "
           f"{rng(rest['final_test_acc'])}" if len(rest) else ""),
    ))  # fmt: skip
    near = bool(len(learned) == len(parity) and len(parity)
                and ((learned["sens_final"] - target).abs() <= 0.2 * target).all())
    out.append(Claim(
        chapter, f"Sparse parity: sensitivity settles at k/n = {fmt(target)} as accuracy reaches 100%",
        "V25 App. A.6, Fig. 26",
        fmt(target), f"{rng(learned['sens_final'])} after test ≥ 99% "
        f"({len(learned)}/{len(parity)} runs learnt it, at steps {span(learned['t_learn'])})", near, scale,
        "check: every run reaches test accuracy ≥ 99% and its mean sensitivity from then on is within 20% of k/n"
        + ("" if near else "; fails: " + (f"{len(rest)} of {len(parity)} runs did not learn the parity within "
                                          f"{span(rest['steps_run'])} steps" if len(rest) else
                                          "the final sensitivity is off k/n")),
    ))  # fmt: skip
    return out


def parity_describe(parity: pd.DataFrame, n: int, k: int) -> str:
    """A few sentences (Markdown) with the sparse-parity runs' numbers, for the notebook to display."""
    learned = parity[parity["learned"].astype(bool)]
    lines = [f"At step 0 the sensitivity was {rng(parity['sens_start'])}. "
             f"While test accuracy stayed under 60% it rose to {rng(parity['sens_plateau_max'])} and stood at "
             f"{rng(parity['sens_plateau_end'])} at its last evaluation before test accuracy reached 60% "
             f"(at steps {span(parity['t_leave'])})."]  # fmt: skip
    if len(learned):
        lines.append(f"{len(learned)} of {len(parity)} runs learnt the parity (test accuracy ≥ 99%) at steps "
                     f"{span(learned['t_learn'])}; from then on their sensitivity averaged "
                     f"{rng(learned['sens_final'])}, against k/n = {fmt(k / n)}.")  # fmt: skip
    rest = parity[~parity["learned"].astype(bool)]
    if len(rest):
        lines.append(f"Seed(s) {', '.join(str(x) for x in rest['seed'])} did not learn it within the budget: at the "
                     f"end their training accuracy was {rng(rest['final_train_acc'])} and their test accuracy "
                     f"{rng(rest['final_test_acc'])}, so what they learnt was (part of) their training strings; "
                     f"their sensitivity ended at {rng(rest['sens_plateau_end'])}. They stay in every table.")  # fmt: skip
    return " ".join(lines)
