"""The networks: HR24's encoder (and its folded forward pass), the scratchpad encoder–decoder, V25's grokking
model, vision models and synthetic-task classifier.

- :mod:`.encoder`: the HR24 encoder with observable LayerNorm factors (also importable from here).
- :mod:`.folded`: the encoder's forward pass refactored for many parameter vectors on the same inputs.
- :mod:`.seq2seq`: the encoder–decoder that writes PARITY's scratchpad (HR24 §7.2).
- :mod:`.grokking`: the one-layer model of V25's modular-addition runs.
- :mod:`.vision`: V25's ViT, CNN and MLP in plain torch.
- :mod:`.attention_classifier`: the one-layer attention classifier of V25's synthetic token task (§4).
- :mod:`.last_step`: the scratchpad model's output at the last step, as a function of its inputs.
"""

from .encoder import (
    LN_CONVENTIONS,
    EncoderConfig,
    EncoderLayer,
    HR24Encoder,
    SelfAttention,
    ln_factor,  # noqa: F401
    to_torch_encoder,
)
