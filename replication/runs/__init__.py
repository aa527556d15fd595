"""The machinery of runs: configs and scales, the cache, committed results, the sweep runner, the chapters.

- :mod:`.config`: the three scales and ``from_params`` (a notebook's parameters onto a preset).
- :mod:`.cache`: content-addressed entries (JSON + safetensors), written atomically.
- :mod:`.store`: committed ``results/``, then the local cache, then compute.
- :mod:`.provenance`: where and how a result was computed.
- :mod:`.sweep`: a grid of runs, cached one by one, in parallel (or batched on a GPU).
- :mod:`.stored`: stored runs read as a sweep returns them, computing nothing (a partial `paper` sweep).
- :mod:`.chapters`: the one registry of chapters: number, notebook, result kinds.
"""
