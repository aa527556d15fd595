"""Chapter 11: token-wise sensitivity on language, a RoBERTa-style transformer against an LSTM (V25 §6).

The code, by stage: :mod:`.runs` (settings, presets, data), :mod:`.measure` (training and measuring one
run), :mod:`.analysis` (the sweep and its tables), :mod:`.claims` (one function per claim).
"""
