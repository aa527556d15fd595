"""The reference paths the benchmarks time the book against: each expensive computation written the way the
original code does it. They compute the same numbers as the book's fast paths (``tests/core/measures/test_fast_paths.py``
checks each pair), only more slowly.

- :class:`OriginalModel`: the original code's model, ``nn.TransformerEncoder`` over every position with the
  head on the last one (the book's encoder computes its last layer at the last position only).
- :func:`copy_and_perturb`: sharpness by deep-copying the original code's model for every perturbation,
  adding the noise in place and running a forward pass over every input (the same draws as
  :func:`replication.measures.sharpness.sharpness` for the same seed).
- :func:`flip_sensitivity`: a model's exact average sensitivity by evaluating every string of the cube and
  its ``n`` neighbours (``2^n (n + 1)`` forward evaluations).
- :func:`reference_measure`: chapter 05's per-run measurement the original code's way: the
  ``nn.TransformerEncoder`` model trained, sharpness by copy-and-perturb.

This file is not part of the package; the benchmark (``benchmarks/run.py``) and the tests import it.
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from replication.tasks import boolean
from replication.measures import sensitivity
from replication.measures.sharpness import HR24_EXCLUDE
from replication.models.encoder import HR24Encoder, to_torch_encoder


class OriginalModel(nn.Module):
    """The original code's model: ``nn.TransformerEncoder`` on all positions, head on the last one.

    Built from a copy of ``ours`` (which is left alone): its token and positional embeddings and head, and
    an ``nn.TransformerEncoder`` with the weights of its layers, under the same parameter names
    (``layers.0.self_attn.in_proj_weight``, ...).
    """

    def __init__(self, ours: HR24Encoder):
        super().__init__()
        self.names = [k for k, _ in ours.named_parameters()]  # HR24Encoder's parameter order
        self.enc = to_torch_encoder(ours).train(ours.training)
        self.ours = copy.deepcopy(ours)
        self.ours.layers = nn.ModuleList()  # the encoder layers live in self.enc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ours.head(self.enc(self.ours.embed(x))[:, -1]).squeeze(-1)

    def parameter(self, name: str) -> nn.Parameter:
        """The parameter called ``name`` in :class:`HR24Encoder` (``layers.*`` live in the torch encoder)."""
        owner = self.enc if name.startswith("layers.") else self.ours
        return owner.get_parameter(name)

    def trainable(self) -> list[nn.Parameter]:
        """Every parameter, in :class:`HR24Encoder`'s order."""
        return [self.parameter(k) for k in self.names]

    def to_hr24(self) -> HR24Encoder:
        """An :class:`HR24Encoder` with this model's weights (the book's measurements read its LayerNorms)."""
        out = HR24Encoder(self.ours.cfg)
        out.load_state_dict({**self.ours.state_dict(), **self.enc.state_dict()})
        return out.train(self.training)


def train_steps(
    model: nn.Module, params, n: int, batch: int, steps: int, seed: int = 0, lr: float = 3e-4, weight_decay: float = 0.1
) -> list[float]:
    """``steps`` AdamW steps on PARITY with fresh strings (HR24 §7.1, as :func:`replication.train.train` does);
    returns the training losses. The same ``seed`` gives the same batches, whichever model."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    for _ in range(steps):
        x = boolean.random_strings(batch, n, generator=g)
        loss = F.mse_loss(model(x), boolean.parity(x))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def copy_and_perturb(
    model: HR24Encoder,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    rescale: float = 4.0,
    rho: float = 0.02,
    n_perturbations: int = 20,
    seed: int = 0,
    exclude=HR24_EXCLUDE,
) -> dict[str, float]:
    """HR24 Eq. 15 (and the original code's ΔMSE when ``y`` is given) the original code's way.

    For each perturbation the original code's model is deep-copied, every parameter not excluded gets
    ``N(0, ρ²)`` noise in place, and the copy runs on every input. The draws come from one generator seeded
    with ``seed``, perturbation by perturbation and parameter by parameter in :class:`HR24Encoder`'s
    ``named_parameters()`` order: those of :func:`replication.measures.sharpness.sharpness_both`.
    Returns ``{"sharpness", "sharpness_se", "delta_mse"}`` (``delta_mse`` NaN without ``y``).
    """
    ref = OriginalModel(model).eval()
    names = [k for k in ref.names if not any(k.startswith(e) for e in exclude)]
    g = torch.Generator().manual_seed(seed)
    base = ref(x)
    sq, mse = [], []
    for _ in range(n_perturbations):
        noisy = copy.deepcopy(ref)
        for k in names:
            p = noisy.parameter(k)
            p.add_(rho * torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device))
        out = noisy(x)
        sq.append(float(((out - base) ** 2).mean()) * rescale)
        if y is not None:
            mse.append(float(((out - y.to(out.dtype)) ** 2).mean()))
    sq = np.array(sq)
    se = float(sq.std(ddof=1) / np.sqrt(len(sq))) if len(sq) > 1 else float("nan")
    delta = (
        float("nan") if y is None else rescale * (float(np.mean(mse)) - float(((base - y.to(base.dtype)) ** 2).mean()))
    )
    return {"sharpness": float(sq.mean()), "sharpness_se": se, "delta_mse": delta}


def copy_and_perturb_both(model, x, y, rescale: float = 4.0, **noise) -> dict[str, float]:
    """:func:`copy_and_perturb` with :func:`replication.measures.sharpness.sharpness_both`'s signature."""
    return copy_and_perturb(model, x, y, rescale=rescale, **noise)


@torch.no_grad()
def flip_sensitivity(model, n: int, batch: int = 1024, start: int = 0, stop: int | None = None) -> torch.Tensor:
    """Per-string sensitivity ``s(T, x)`` of strings ``start..stop-1`` of the cube (all by default), each
    evaluated with its ``n`` neighbours (:func:`replication.measures.sensitivity.model_sensitivity`), ``(stop - start,)``."""
    stop = 2**n if stop is None else stop
    return torch.cat(
        [
            sensitivity.model_sensitivity(model, sensitivity.cube_strings(n, i, min(i + batch, stop))).double()
            for i in range(start, stop, batch)
        ]
    )


@contextlib.contextmanager
def reference_way(original_training: bool = True):
    """Within the block, chapter 05's measurement (``encoder_sweep.measure_run``) in *this process* runs the
    original code's way: sharpness by copy-and-perturb and, with ``original_training``, training of the
    original code's model (``nn.TransformerEncoder``; the same initialisation, batches and optimiser, see
    :class:`OriginalModel`), whose weights are then measured as an :class:`HR24Encoder`."""
    from replication.train import hr24 as train_module
    from replication.runs.encoder import sweep as encoder_sweep

    fast_sharpness, fast_train, model_class = (
        encoder_sweep.sharpness_both,
        encoder_sweep.train,
        train_module.HR24Encoder,
    )

    def original_train(cfg, callback=None, progress=None):
        train_module.HR24Encoder = lambda c: OriginalModel(model_class(c))  # noqa: E731
        try:
            res = fast_train(cfg, callback=callback, progress=progress)
        finally:
            train_module.HR24Encoder = model_class
        res.model = res.model.to_hr24()
        return res

    encoder_sweep.sharpness_both = copy_and_perturb_both
    if original_training:
        encoder_sweep.train = original_train
    try:
        yield
    finally:
        encoder_sweep.sharpness_both, encoder_sweep.train = fast_sharpness, fast_train


def reference_measure(run, device: str = "cpu", original_training: bool = True) -> dict:
    """Chapter 05's ``measure_run`` the original code's way (see :func:`reference_way`), in this process."""
    from replication.runs.encoder.sweep import measure_run

    with reference_way(original_training):
        return measure_run(run, device)
