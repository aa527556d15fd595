"""Figures: the options that change what an axis shows."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from replication.plots import sharpness as plots  # noqa: E402


def _runs() -> pd.DataFrame:
    rows = [
        {"function": f, "n": n, "seed": s, "sharpness": 0.1 * n + s, "kept": True}
        for f in ("majority", "mean")
        for n in (8, 16, 32, 64)
        for s in range(2)
    ]
    return pd.DataFrame(rows)


def test_sharpness_panels_log2_lengths():
    axes = plots.sharpness_panels(_runs(), logx=True)
    assert len(axes) == 2
    for ax in axes:
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "16", "32", "64"]
    linear = plots.sharpness_panels(_runs())
    assert all(ax.get_xscale() == "linear" for ax in linear)
    plt.close("all")
