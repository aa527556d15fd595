"""V25's vision numbers beside the book's: one row per (measure, kind of model), no empty cell shown as NaN."""

import pandas as pd

from replication.experiments.vision_sensitivity.analysis import PAPER, PAPER_KIND, paper_beside_ours
from replication.report.text import DASH


def test_paper_beside_ours_puts_each_kind_of_model_on_one_row():
    runs = pd.DataFrame(
        {
            "model": ["ViT", "ViT", "CNN", "MLP", "ViT + reg"],
            "sensitivity": [0.01, 0.02, 0.03, 0.04, 0.005],
            "shop": [1.0, 2.0, 3.0, 4.0, 5.0],
            "shpred": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    t = paper_beside_ours(runs, "mnist")
    assert list(t.columns) == ["V25, Fashion-MNIST", "V25, CIFAR-10", "this book, mnist"]
    assert not t.isna().any().any() and "NaN" not in t.to_html()
    assert t.loc[("sensitivity", "ViT"), "this book, mnist"] == "0.015"  # the mean over seeds
    assert t.loc[("sensitivity", "CNN"), "V25, Fashion-MNIST"] == "0.0453"  # V25's model is the kind itself
    assert "ResNet-18 0.0827" in t.loc[("sensitivity", "CNN"), "V25, CIFAR-10"]
    assert t.loc[("sensitivity", "MLP"), "V25, CIFAR-10"] == DASH
    assert t.loc[("ShOp", "ViT + reg"), "V25, CIFAR-10"] == "ViT-small + reg 9.03"
    assert t.loc[("sensitivity", "ViT + reg"), "V25, Fashion-MNIST"] == DASH
    assert list(dict.fromkeys(t.index.get_level_values("measure"))) == ["sensitivity", "ShOp", "ShPred"]
    assert set(PAPER["model"]) <= set(PAPER_KIND)  # every V25 model has a kind
