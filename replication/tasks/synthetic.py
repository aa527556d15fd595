"""The synthetic sparse-vs-frequent token task of V25 §4.1 (Def. 4.2, 4.3, App. D): its settings and data.

Tokens are one-hot vectors ``e_1 .. e_M``; here token id ``i`` (0-based) is ``e_{i+1}``, so (Def. 4.2)

- sparse tokens: id 0 (label +1) and id 1 (label -1);
- frequent tokens: ids 2, 4, .., 2m (label +1) and 3, 5, .., 2m+1 (label -1);
- irrelevant tokens: ids 2m+2 .. M-1.

A data point (Def. 4.3) has label ``y = ±1`` and ``T`` tokens at random positions: ``a = ⌊(n_f+n_d)/2⌋``
frequent tokens of label ``y`` and ``n_f - a`` of label ``-y`` (each drawn uniformly from its set),
``n_s`` copies of the sparse token of ``y``, and irrelevant tokens elsewhere. The out-of-distribution
(OOD) test set puts the sparse tokens of ``-y`` instead: a model that reads the sparse tokens gets it
wrong, one that reads the frequent tokens gets it right.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..checks import check_int


@dataclass(frozen=True)
class Setting:
    """One data setting of V25 Def. 4.3 (Table 1/3 name it ``(n_s, n_f, n_d, m)``)."""

    n_s: int  # sparse tokens per sequence (all of the label's sparse token)
    n_f: int  # frequent tokens per sequence
    n_d: int  # the label's majority among frequent tokens: ⌊(n_f+n_d)/2⌋ of label y, the rest of -y
    m: int  # frequent tokens per label in the vocabulary

    def __post_init__(self):
        check_int("n_s", self.n_s, 1)
        check_int("n_f", self.n_f, 1)
        check_int("m", self.m, 1)
        check_int("n_d", self.n_d, 1, self.n_f)
        # Def. 4.2 asks n_s < n_f; Table 3's own first setting (3, 3, 1, 6) has n_s = n_f, so allow it.
        if self.n_s > self.n_f:
            raise ValueError(f"settings: n_s = {self.n_s} must not exceed n_f = {self.n_f} (V25 Def. 4.2)")
        if self.margin < 1:
            raise ValueError(
                f"settings: n_d = {self.n_d} with n_f = {self.n_f} gives as many frequent tokens of "
                f"-y as of y, so the frequent tokens do not determine the label; make n_f + n_d "
                f"larger or even"
            )

    @property
    def a(self) -> int:
        """Frequent tokens of the label's own set in each sequence."""
        return (self.n_f + self.n_d) // 2

    @property
    def margin(self) -> int:
        """Frequent tokens of label y minus those of -y in each sequence."""
        return 2 * self.a - self.n_f

    @property
    def label(self) -> str:
        return f"({self.n_s},{self.n_f},{self.n_d},{self.m})"

    def check_length(self, T: int, M: int) -> None:
        """Raise unless sequences of ``T`` tokens and a vocabulary of ``M`` tokens can hold this setting."""
        if self.n_f + self.n_s > T:
            raise ValueError(f"settings: {self.label} needs n_f + n_s = {self.n_f + self.n_s} ≤ T = {T} tokens")
        need = 2 * self.m + 2 + (1 if self.n_f + self.n_s < T else 0)
        if M < need:
            raise ValueError(
                f"vocab: {self.label} needs M ≥ {need} tokens (2 sparse, 2m = {2 * self.m} frequent"
                f"{', one irrelevant' if need > 2 * self.m + 2 else ''}), got M = {M}"
            )


def as_setting(s) -> Setting:
    """A :class:`Setting` from itself or a 4-tuple ``(n_s, n_f, n_d, m)``."""
    if isinstance(s, Setting):
        return s
    if not isinstance(s, (tuple, list)) or len(s) != 4:
        raise ValueError(f"settings: each setting must be 4 integers (n_s, n_f, n_d, m), got {s!r}")
    return Setting(*s)


def token_classes(m: int, M: int) -> dict[str, torch.Tensor]:
    """Token ids of each set of Def. 4.2 for labels +1 and -1: keys ``sparse+``, ``sparse-``, ``frequent+``,
    ``frequent-``, ``irrelevant``."""
    return {
        "sparse+": torch.tensor([0]),
        "sparse-": torch.tensor([1]),
        "frequent+": torch.arange(2, 2 * m + 2, 2),
        "frequent-": torch.arange(3, 2 * m + 2, 2),
        "irrelevant": torch.arange(2 * m + 2, M),
    }


def generate(setting: Setting, n: int, T: int, M: int, generator: torch.Generator, ood: bool = False):
    """``n`` data points of Def. 4.3: token ids ``(n, T)`` (long) and labels ``(n,)`` in {-1., +1.}.

    ``ood``: the sparse tokens are those of ``-y`` (V25's out-of-distribution test set).
    """
    s = as_setting(setting)
    s.check_length(T, M)
    g = generator
    y = torch.randint(0, 2, (n,), generator=g) * 2 - 1  # (n,)
    own = (y < 0).long()  # 0 for +1, 1 for -1: offset of the label's own sets
    freq_own = 2 + 2 * torch.randint(0, s.m, (n, s.a), generator=g) + own[:, None]
    freq_other = 2 + 2 * torch.randint(0, s.m, (n, s.n_f - s.a), generator=g) + (1 - own)[:, None]
    sparse = ((1 - own) if ood else own)[:, None].expand(n, s.n_s)
    n_irr = T - s.n_f - s.n_s
    irrelevant = 2 * s.m + 2 + torch.randint(0, max(M - 2 * s.m - 2, 1), (n, n_irr), generator=g)
    slots = torch.cat([freq_own, freq_other, sparse, irrelevant], dim=1)  # (n, T), in slot order
    positions = torch.argsort(torch.rand(n, T, generator=g), dim=1)  # slot j goes to position positions[:, j]
    ids = torch.empty_like(slots)
    ids.scatter_(1, positions, slots)
    return ids, y.float()
