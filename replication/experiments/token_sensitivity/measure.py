"""Chapter 09: training V25 Eq. 3 on the synthetic task, the curves of the sweeps and the ``make_runs`` hook.

:class:`SynthRun` trains :class:`~replication.models.attention_classifier.AttentionClassifier` with plain
SGD on minibatches of 100 (V25 App. D) and the logistic loss, logging once per epoch: accuracy on the
training set, the test set and the out-of-distribution (OOD) test set; the alignment of the rows of
``U W_V^T`` with ``v_sp``, ``v_freq`` and ``v_irrel``; the attention mass on each token kind; and the
model's own sensitivity (Def. 4.1, each token replaced by a uniformly drawn one). Runs go through
:func:`replication.runs.sweep.run_sweep`, each stored on its own.
"""

from __future__ import annotations

import time

import pandas as pd
import torch
import torch.nn.functional as F

from ...runs.chapters import chapter, kind
from ...runs.parts import Part, first_seeds, refuse
from ...runs.store import Store
from ...runs.sweep import sweep_curves
from ...tasks.synthetic import Setting, generate
from ...train import fit
from . import task as st
from .config import SynthRun, SyntheticConfig, check_runs, probe_runs, protocol_runs, runs
from .task import REPLACEMENT, TIES
from .variants import build_model, fit_counts

KIND = kind("synthetic_task_run", __name__)
#: The values of the last evaluation that a run's result repeats as ``final_<name>``.
FINAL = (
    "train_loss",
    "train_acc",
    "test_acc",
    "ood_acc",
    "align_sparse",
    "align_frequent",
    "align_irrelevant",
    "attn_sparse",
    "attn_frequent",
    "attn_irrelevant",
    "attn_entropy",
)
# --------------------------------------------------------------------------------------------------
# One run


def _batches(n: int, batch_size: int, generator: torch.Generator):
    """Minibatch index tensors: a fresh shuffle of ``range(n)`` every epoch, for ever."""
    while True:
        perm = torch.randperm(n, generator=generator)
        yield from perm.split(batch_size)


def _data(run: SynthRun):
    """The run's training, test and OOD test sets (token ids and labels), drawn from its seed."""
    s, M, T = run.setting, run.vocab, run.T
    data = torch.Generator().manual_seed(run.seed)
    train = generate(s, run.n_train, T, M, data)
    test = generate(s, run.n_test, T, M, data)
    return train, test, generate(s, run.n_test, T, M, data, ood=True)


def measure_synthetic(run: SynthRun, device: str = "cpu") -> dict:
    """Train ``run`` and log every epoch; returns ``history`` and the final values."""
    if run.model == "counts":
        return measure_counts(run)
    s, M, T = run.setting, run.vocab, run.T
    (xtr, ytr), (xte, yte), (xood, yood) = _data(run)
    torch.manual_seed(run.seed)
    model = build_model(run.model, M, T, run.width, run.init, s.m)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=run.lr)
    order, noise = torch.Generator().manual_seed(1000 + run.seed), torch.Generator().manual_seed(2000 + run.seed)
    idx = _batches(run.n_train, run.batch_size, order)
    steps_per_epoch = run.n_train // run.batch_size
    xs = xtr[: run.n_sens]

    def loss_fn(mdl, b):
        return F.softplus(-ytr[b] * mdl(xtr[b])).mean()

    @torch.no_grad()
    def evaluate(step, mdl) -> dict:
        acc = lambda x, y: float((torch.sign(mdl(x)) == y).float().mean())  # noqa: E731
        return {
            "epoch": step // steps_per_epoch,
            "train_loss": float(F.softplus(-ytr * mdl(xtr)).mean()),
            "train_acc": acc(xtr, ytr),
            "test_acc": acc(xte, yte),
            "ood_acc": acc(xood, yood),
            **st.alignment(mdl, s.m, M),
            **st.attention_mass(mdl, xte, s.m, M),
            "attn_entropy": st.attention_entropy(mdl, xte),
            "sensitivity": st.replacement_sensitivity(mdl, xs, M, 1, noise),
        }

    def stop(row):
        if run.stop_loss and row["train_loss"] <= run.stop_loss:
            return f"converged: training loss {row['train_loss']:.4g} <= {run.stop_loss:g} at epoch {row['epoch']:.0f}"
        return None

    res = fit(
        model,
        lambda: next(idx),
        loss_fn,
        opt,
        run.epochs * steps_per_epoch,
        eval_every=steps_per_epoch,
        evaluate=evaluate,
        stop=stop,
        progress=False,
    )
    final = res.history[-1]
    return {
        "history": [{k: float(v) for k, v in r.items()} for r in res.history],
        **{f"final_{k}": float(final[k]) for k in FINAL},
        "initial_attn_entropy": float(res.history[0]["attn_entropy"]),
        "converged": bool(run.stop_loss and final["train_loss"] <= run.stop_loss),
        "final_sensitivity": st.replacement_sensitivity(model, xs, M, None, noise),
        **{f"{w}_predictor": st.predictor_sensitivity(s, w, M, T, TIES, REPLACEMENT) for w in st.PREDICTORS},
        "steps_run": res.steps_run,
        "failed": res.failed,
        "train_seconds": res.seconds,
    }


def measure_counts(run: SynthRun) -> dict:
    """The ``counts`` model: a logistic regression on the token counts of the run's training set, measured as a
    trained attention model is (one evaluation, epoch 0; its weights stand for the read-out, it has no attention)."""
    s, M, T = run.setting, run.vocab, run.T
    (xtr, ytr), (xte, yte), (xood, yood) = _data(run)
    t0 = time.perf_counter()
    _, predict, w = fit_counts(xtr, ytr, M)
    seconds = time.perf_counter() - t0
    noise = torch.Generator().manual_seed(2000 + run.seed)
    xs = xtr[: run.n_sens]
    acc = lambda x, y: float((torch.sign(predict(x)) == y).float().mean())  # noqa: E731
    row = {
        "epoch": 0.0,
        "train_loss": float(F.softplus(-ytr * predict(xtr)).mean()),
        "train_acc": acc(xtr, ytr),
        "test_acc": acc(xte, yte),
        "ood_acc": acc(xood, yood),
        **{f"align_{k}": float(F.cosine_similarity(w, v, dim=0)) for k, v in st.directions(s.m, M).items()},
        **{f"attn_{k}": float("nan") for k in ("sparse", "frequent", "irrelevant", "entropy")},
        "sensitivity": st.replacement_sensitivity(predict, xs, M, 1, noise),
    }
    return {
        "history": [row],
        **{f"final_{k}": row[k] for k in FINAL},
        "initial_attn_entropy": float("nan"),
        "converged": True,
        "final_sensitivity": st.replacement_sensitivity(predict, xs, M, None, noise),
        **{f"{w_}_predictor": st.predictor_sensitivity(s, w_, M, T, TIES, REPLACEMENT) for w_ in st.PREDICTORS},
        "steps_run": 0,
        "failed": False,
        "train_seconds": seconds,
    }


def curves(cfg: SyntheticConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every epoch of every run: one row per (setting, seed, epoch), run fields and final values repeated."""
    return _curves(runs(cfg), cfg, cache, progress)


def protocol_curves(cfg: SyntheticConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """:func:`curves` for the protocol sweep (:func:`protocol_runs`); empty when the config has no sweep."""
    return _curves(protocol_runs(cfg), cfg, cache, progress) if cfg.sweep_inits and cfg.sweep_lrs else pd.DataFrame()


def check_curves(cfg: SyntheticConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """:func:`curves` for the longer runs without the stop rule (:func:`check_runs`); empty when there are none."""
    return _curves(check_runs(cfg), cfg, cache, progress) if cfg.check_epochs else pd.DataFrame()


def probe_curves(cfg: SyntheticConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """:func:`curves` for the runs where the two accounts are compared (:func:`probe_runs`), every model; empty when
    the config has none. The ``counts`` model has one row per run (epoch 0)."""
    return _curves(probe_runs(cfg), cfg, cache, progress) if cfg.probe_settings else pd.DataFrame()


def _curves(todo: list[SynthRun], cfg: SyntheticConfig, cache, progress) -> pd.DataFrame:
    df = sweep_curves(todo, measure_synthetic, KIND, cache, cfg.n_jobs, progress)
    return df.assign(setting=[Setting(*r).label for r in zip(df["n_s"], df["n_f"], df["n_d"], df["m"])])


def make_runs(scale: str, functions=None, seeds=None, steps=None) -> list[Part]:
    """The chapter's runs at ``scale`` for ``python -m replication.make``: the protocol sweep (initialisation
    scale × learning rate, seed 0 of every setting first; part ``protocol``), the runs at the chosen protocol
    (``runs``), the longer runs without the stop rule (``check``), Eq. 3 where the two accounts are compared
    (``accounts``), Eq. 3 with its read-out frozen there (``frozen``) and the logistic regression on token counts
    there (``baseline``, scikit-learn); ``seeds`` keeps the first seeds of each."""
    refuse(chapter(__name__).number, functions, steps)
    cfg = SyntheticConfig.from_params(scale)
    sweep = protocol_runs(cfg) if cfg.sweep_inits and cfg.sweep_lrs else []
    parts = (
        ("protocol", sweep),
        ("runs", runs(cfg)),
        ("check", check_runs(cfg)),
        ("accounts", probe_runs(cfg, ("eq3",))),
        ("frozen", probe_runs(cfg, ("fixed_readout",))),
        ("baseline", probe_runs(cfg, ("counts",))),
    )
    return [Part(name, KIND, first_seeds(todo, seeds), measure_synthetic) for name, todo in parts]
