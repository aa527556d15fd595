"""The shared text helpers of ``replication.report.text``: one ``span``, one label, one machine list."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replication.report.text import DASH, computed_on, fmt, label, span


def test_span_of_numbers():
    assert span([0.5, 0.25, np.nan, None, 0.125]) == "0.125–0.5"
    assert span(pd.Series([3.0, 3.0])) == "3"
    assert span([]) == "none" and span([np.nan, np.inf]) == "none" and span([], empty="nan") == "nan"
    assert span([0.12341, 0.12344]) == "0.123"  # both ends read alike: one value
    assert span([16, 64]) == "16–64" and span([20000, 40000]) == "20000–40000"  # ints written as ints


def test_span_formats():
    assert span([1200.0, 3400.9], fmt=int) == "1200–3400"
    assert span([1200, 3400], digits=0, sep=" to ") == "1,200 to 3,400"
    assert span(pd.Series([-0.1234, 0.5]), digits=2, sep=" to ") == "-0.12 to 0.50"
    assert span([5.0], digits=1) == "5.0"
    first, last = "2024-05-01T10:00:00", "2024-05-03T09:00:00"
    assert span([first, last], fmt=lambda s: s[:10], sep=" to ", empty="—") == "2024-05-01 to 2024-05-03"
    assert span([first, "2024-05-01T23:00"], fmt=lambda s: s[:10], sep=" to ") == "2024-05-01"
    assert span([None, ""], empty="—") == "—"


def test_label():
    assert label("parity") == "PARITY" and label("random") == "random f" and label("other") == "other"
    assert label("vit") == "ViT" and label("vit", "plain") == "ViT" and label("cnn", "reg") == "CNN + reg"


def test_computed_on():
    assert computed_on(pd.Series(["a", None, "a", None, "a"])) == "3 runs on a; 2 runs on unknown"
    assert computed_on(pd.Series(["a", "b", "a"])) == "2 runs on a; 1 run on b"
    assert computed_on(None) == "unknown"


def test_fmt_writes_numbers_compactly_and_nan_as_a_dash():
    assert (fmt(3), fmt(0.123456), fmt(1e-5), fmt(12345.0)) == ("3", "0.123", "1.00e-05", "1.23e+04")
    assert fmt(float("nan")) == fmt(np.nan) == DASH and fmt("text") == "text"
