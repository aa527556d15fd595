"""Chapter 09: the models a run of the synthetic task may train (V25 Eq. 3 and two models beside it).

- ``eq3``: V25 Eq. 3, every weight trained (the chapter's model);
- ``fixed_readout``: Eq. 3 whose read-out cannot select tokens: ``U W_V^T`` is frozen at
  :data:`FIXED_READOUT_SCALE` times the label's sign on every token of a label (+1 for the sparse and frequent
  tokens of +1, -1 for those of -1, 0 for the irrelevant ones) at every position, the same for both token sets, so
  only the attention (``W_Q``, ``W_K``, trained) can weigh the sparse set against the frequent one;
- ``counts``: no attention at all, a logistic regression on the token counts (scikit-learn), the linear classifier
  that Eq. 3 with uniform attention computes.

Why not the read-out frozen at its random initialisation: a random read-out reads some tokens with the wrong sign,
so which set the attention could use would be decided by the random draw; and a read-out shared across positions
still separates the data on its own.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...models.attention_classifier import AttentionClassifier
from . import task as st

#: The models, by name (:func:`build_model`, :func:`fit_counts`).
MODELS = ("eq3", "fixed_readout", "counts")
#: What each model is, for tables and legends.
MODEL_NAMES = {
    "eq3": "Eq. 3 (all weights trained)",
    "fixed_readout": "Eq. 3, read-out frozen (attention selects)",
    "counts": "logistic regression on token counts",
}
#: The frozen read-out's value of a label's token. With uniform attention the output is this times
#: ``n_s + (2a - n_f)`` (below the stop rule's margin of log(1/0.01 - 1) ≈ 4.6 in every setting the chapter probes);
#: attention on the label's own tokens alone gives this times ``T`` = 10 at ``T`` = 50.
FIXED_READOUT_SCALE = 0.2
#: Inverse L2 penalty of the logistic regression: weak, so that the fit is close to the unpenalised one that
#: gradient descent runs towards (its direction is then close to the maximum-margin one).
COUNTS_C = 100.0


def polarity(m: int, M: int) -> torch.Tensor:
    """``(M,)``: +1 on the sparse and frequent tokens of label +1, -1 on those of -1, 0 on the irrelevant ones."""
    d = st.directions(m, M)
    return d["sparse"] + d["frequent"]


def build_model(model: str, M: int, T: int, width: int, init: float, m: int) -> AttentionClassifier:
    """The attention model of ``model`` (``eq3`` or ``fixed_readout``), initialised from torch's global generator."""
    net = AttentionClassifier(M, T, width, init)
    if model == "fixed_readout":
        with torch.no_grad():
            net.U.zero_()
            net.U[:, 0] = FIXED_READOUT_SCALE
            net.W_V.zero_()
            net.W_V[:, 0] = polarity(m, M)
        net.U.requires_grad_(False)
        net.W_V.requires_grad_(False)
    elif model != "eq3":
        raise ValueError(f"model: an attention model is one of ['eq3', 'fixed_readout'], got {model!r}")
    return net


def counts(ids: torch.Tensor, M: int) -> np.ndarray:
    """Token counts ``(B, M)`` of token ids ``(B, T)``."""
    return F.one_hot(ids, M).sum(1).double().numpy()


def fit_counts(x: torch.Tensor, y: torch.Tensor, M: int):
    """A logistic regression on the token counts of ``x`` (no intercept), and its real output as a function of ids.

    Returns ``(fitted, predict)`` with ``predict(ids) -> (B,)`` torch scores. scikit-learn is imported here, so that
    the attention runs need no scikit-learn (nor its joblib).
    """
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=COUNTS_C, fit_intercept=False, max_iter=10_000, tol=1e-8)
    clf.fit(counts(x, M), y.numpy())
    w = torch.tensor(clf.coef_[0], dtype=torch.float32)

    def predict(ids: torch.Tensor) -> torch.Tensor:
        return w[ids].sum(1)

    return clf, predict, w
