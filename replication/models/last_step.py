"""One output of the scratchpad encoder–decoder (:mod:`.seq2seq`) as a model of its own.

HR24 §7.2's sharpness is taken over the decoder's ``n`` teacher-forced outputs; :class:`LastStep` keeps
the last one alone, the step that writes PARITY(x), so the same Eq. 15 measure can be taken over it.
"""

from __future__ import annotations

import torch
from torch import nn

from .seq2seq import ScratchpadTransformer


class LastStep(nn.Module):
    """The last teacher-forced output of a scratchpad model, ``(B, n) -> (B,)``: the step that writes PARITY."""

    def __init__(self, model: ScratchpadTransformer):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, -1]
