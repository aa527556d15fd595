"""Phases of a training run read off its logged curves (V25 §7.3, App. A.5: sensitivity as a progress measure).

Every detector takes the evaluation steps and the curves logged at them (1-D arrays of equal length) and
returns steps or numbers, ``None`` where the event never happens; nothing here trains or plots. The
phases of a grokking run, in V25 App. A.5's names:

- **memorisation** ``[0, t_sat]``: training accuracy reaches ``saturate`` (99%) at ``t_sat``; sensitivity
  may first rise to an *early peak* ``t_early`` (the largest smoothed sensitivity up to ``t_sat``) and then
  falls to its *trough* ``t_trough`` (the smallest smoothed sensitivity between ``t_early`` and ``t_peak``);
- **circuit formation** ``[t_sat, t_peak]``: sensitivity climbs to its peak at ``t_peak``, the evaluation
  where the smoothed sensitivity stands highest above its running minimum since ``t_early``, among the
  evaluations where test accuracy is *still low* (so the falling tail of the early peak, however high, is
  no peak);
- **clean-up** ``[t_peak, t_grok]``: sensitivity falls while test accuracy stays low, then rises;
- **grokked** from ``t_grok``, the first evaluation with test accuracy ≥ ``grok`` (95%).

*Still low* means below the commutativity baseline plus ``margin`` (0.1): a memorising model that has
learnt only ``a + b = b + a`` already scores the baseline on the test set. ``t_rise`` is the first
evaluation after ``t_sat`` at or above that level, ``t_low_end`` the last evaluation before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def first_at_least(steps, values, threshold: float, after: float | None = None) -> int | None:
    """The first step (after ``after``, if given) whose value is ≥ ``threshold``; None if none is."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    ok = values >= threshold
    if after is not None:
        ok &= steps > after
    return int(steps[ok.argmax()]) if ok.any() else None


def smooth(values, window: int = 3) -> np.ndarray:
    """Centred rolling mean over ``window`` evaluations (shorter at the ends)."""
    return pd.Series(np.asarray(values, dtype=float)).rolling(window, center=True, min_periods=1).mean().to_numpy()


def peak(steps, values, lo: float, hi: float, window: int = 3) -> tuple[int | None, float]:
    """``(step, value)`` of the largest smoothed value among steps in ``[lo, hi]``; ``(None, nan)`` if empty."""
    steps = np.asarray(steps)
    s = smooth(values, window)
    inside = (steps >= lo) & (steps <= hi)
    if not inside.any():
        return None, float("nan")
    i = np.flatnonzero(inside)[s[inside].argmax()]
    return int(steps[i]), float(s[i])


def largest_rise(steps, values, lo: float, hi: float) -> float:
    """Largest rise of a curve above its running minimum within ``[lo, hi]``, relative to its value at ``lo``.

    0 for a curve that only falls; a curve that turns from falling to rising gets a positive value.
    """
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    v = values[(steps >= lo) & (steps <= hi)]
    if len(v) < 2:
        return float("nan")
    return float((v - np.minimum.accumulate(v)).max() / abs(v[0]))


def climb_peak(steps, values, lo: float, hi: float, start: float, window: int = 3) -> tuple[int | None, float]:
    """``(step, value)`` of the largest rise of the smoothed curve above its running minimum since ``start``,
    among steps in ``[lo, hi]`` (the top of a climb, not a high point of a fall); ``(None, nan)`` if empty."""
    steps = np.asarray(steps)
    s = smooth(values, window)
    since = steps >= start
    rise = np.full(len(s), -np.inf)
    rise[since] = s[since] - np.minimum.accumulate(s[since])
    inside = (steps >= lo) & (steps <= hi) & since
    if not inside.any():
        return None, float("nan")
    i = np.flatnonzero(inside)[rise[inside].argmax()]
    return int(steps[i]), float(s[i])


def fall_step(steps, values, start: float | None, share: float, window: int = 1) -> int | None:
    """The first step from ``start`` on where the (smoothed) curve is at least ``share`` below its value at
    ``start``; None if it never gets there (or ``start`` is None)."""
    if start is None or not np.isfinite(share):
        return None
    steps, s = np.asarray(steps), smooth(values, window)
    ref = s[int(np.flatnonzero(steps == start)[0])]
    ok = (steps >= start) & (s <= (1 - share) * ref)
    return int(steps[ok.argmax()]) if ok.any() else None


def _at(steps, values, step, window: int = 3) -> float:
    """Smoothed value at ``step`` (nan for None)."""
    if step is None:
        return float("nan")
    return float(smooth(values, window)[int(np.flatnonzero(np.asarray(steps) == step)[0])])


def grokking_phases(
    steps,
    train_acc,
    test_acc,
    sensitivity,
    weight_norm,
    baseline: float,
    saturate: float = 0.99,
    grok: float = 0.95,
    margin: float = 0.1,
    window: int = 3,
) -> dict:
    """The phases of one run (module docstring) and what sensitivity and weight norm do between them.

    Returns a dict: ``t_sat``, ``t_rise``, ``t_low_end``, ``t_grok``, ``t_peak``, ``t_early``, ``t_trough``
    (steps or None); ``sens_start`` (at step 0), ``sens_sat``, ``sens_peak``, ``sens_low_end``,
    ``sens_early``, ``sens_trough`` (smoothed sensitivity at those steps: the early peak while the training
    set is fitted, and the trough where memorisation leaves it), ``early_fall`` (relative fall from the early
    peak to the trough), ``sens_fall`` (relative fall from the peak to ``t_low_end``), ``lead`` (``t_rise - t_peak``:
    steps by which sensitivity's turn precedes test accuracy leaving its plateau), ``lead_grok``
    (``t_grok - t_peak``), ``norm_rise`` (:func:`largest_rise` of the weight norm over ``[t_sat, t_low_end]``),
    ``norm_fall_cleanup`` (relative fall of the weight norm from ``t_peak`` to ``t_low_end``), ``low_level``
    (baseline + margin), and ``train_dip`` / ``t_dip``: the lowest training accuracy after ``t_sat`` and its
    step (a loss spike shows as a dip below ``saturate``).
    """
    steps = np.asarray(steps)
    low = baseline + margin
    t_sat = first_at_least(steps, train_acc, saturate)
    t_grok = first_at_least(steps, test_acc, grok)
    t_rise = first_at_least(steps, test_acc, low, after=t_sat) if t_sat is not None else None
    before = steps[steps < t_rise] if t_rise is not None else steps[:0]
    t_low_end = int(before[-1]) if len(before) and t_sat is not None and before[-1] >= t_sat else None
    t_early, s_early = peak(steps, sensitivity, 0, t_sat if t_sat is not None else steps.max(), window)
    t_peak, s_peak = (
        climb_peak(steps, sensitivity, t_sat, t_low_end, t_early, window)
        if t_low_end is not None
        else (None, float("nan"))
    )
    s_low = _at(steps, sensitivity, t_low_end, window)
    sens = np.asarray(sensitivity, dtype=float)
    dip = (steps >= t_early) & (steps <= (t_peak if t_peak is not None else steps.max()))
    i_trough = np.flatnonzero(dip)[smooth(sens, window)[dip].argmin()]
    after = steps > (t_sat if t_sat is not None else steps.max())
    train_after = np.asarray(train_acc, dtype=float)[after]
    n_peak, n_low = _at(steps, weight_norm, t_peak, 1), _at(steps, weight_norm, t_low_end, 1)
    return {
        "t_sat": t_sat,
        "t_rise": t_rise,
        "t_low_end": t_low_end,
        "t_grok": t_grok,
        "t_peak": t_peak,
        "sens_start": float(sens[0]),
        "sens_sat": _at(steps, sensitivity, t_sat, window),
        "t_early": t_early,
        "sens_early": s_early,
        "t_trough": int(steps[i_trough]),
        "sens_trough": float(smooth(sens, window)[i_trough]),
        "early_fall": 1 - float(smooth(sens, window)[i_trough]) / s_early if s_early > 0 else float("nan"),
        "sens_peak": s_peak,
        "sens_low_end": s_low,
        "sens_fall": 1 - s_low / s_peak if s_peak > 0 else float("nan"),
        "lead": t_rise - t_peak if t_peak is not None else None,
        "lead_grok": t_grok - t_peak if t_peak is not None and t_grok is not None else None,
        "norm_rise": largest_rise(steps, weight_norm, t_sat, t_low_end) if t_low_end is not None else float("nan"),
        "norm_fall_cleanup": 1 - n_low / n_peak if t_peak is not None else float("nan"),
        "low_level": low,
        "train_dip": float(train_after.min()) if after.any() else float("nan"),
        "t_dip": int(steps[after][train_after.argmin()]) if after.any() else None,
    }


def parity_phases(
    steps, test_acc, sensitivity, target: float, chance_band: float = 0.6, learned: float = 0.99, window: int = 3
) -> dict:
    """Sparse parity (V25 App. A.6): what sensitivity does while accuracy sits near chance, and where it ends.

    The *plateau* is every evaluation before test accuracy first reaches ``chance_band`` (60%);
    ``t_learn`` is the first evaluation with test accuracy ≥ ``learned`` (99%). Returns ``t_leave`` (end of
    the plateau), ``t_learn``, ``sens_start`` (step 0), ``sens_plateau_end`` (smoothed, at the plateau's
    last evaluation), ``sens_plateau_max``, ``sens_final`` (mean over the evaluations from ``t_learn`` on,
    nan if never learnt) and ``target`` (``k/d``).
    """
    steps, sens = np.asarray(steps), np.asarray(sensitivity, dtype=float)
    t_leave = first_at_least(steps, test_acc, chance_band)
    t_learn = first_at_least(steps, test_acc, learned)
    plateau = steps < t_leave if t_leave is not None else np.ones(len(steps), bool)
    s = smooth(sens, window)
    return {
        "t_leave": t_leave,
        "t_learn": t_learn,
        "sens_start": float(sens[0]),
        "sens_plateau_end": float(s[plateau][-1]) if plateau.any() else float("nan"),
        "sens_plateau_max": float(s[plateau].max()) if plateau.any() else float("nan"),
        "sens_final": float(sens[steps >= t_learn].mean()) if t_learn is not None else float("nan"),
        "target": float(target),
    }
