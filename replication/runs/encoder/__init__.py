"""The HR24 encoder sweep (HR24 §7.1, App. E): the runs chapter 05 computes and chapters 04, 05, 06 and 08 read.

- :mod:`.config`: one :class:`EncoderRun` per training run, the :class:`SweepConfig` that expands into them,
  the presets of each scale.
- :mod:`.calibration`: the PARITY protocols tried before the `cpu` preset was chosen.
- :mod:`.sweep`: train, measure, store; the run frames and their convergence counts.

Chapter code imports these from here or from the modules; every field of :class:`EncoderRun` is hashed into a
committed key, wherever the class lives.
"""
