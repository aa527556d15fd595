"""Judging a recomputation of committed results (``make results-check``): by what the claims read, not by bits.

Training is chaotic at float level: another CPU's kernels round differently and AdamW amplifies the
difference within steps, so a recomputed run matches its committed entry to the bit only on a machine
that runs the same kernels. What a reader needs to know is whether the claims come out the same. So a
check compares

- every recomputed entry with the committed one (:func:`entry_differences`): bit-identical or not (timings
  aside; weights in safetensors files are not compared, the quantities measured on them are), and for
  each scalar result the difference against a **tolerance of one seed-to-seed standard deviation** of that
  quantity among the committed runs that differ only in their seed (:data:`TOLERANCE_SDS`); a counted proportion
  (a sensitivity is a share of flipped predictions, :data:`COUNTS`) against that standard deviation combined with
  its own counting error, the binomial standard error ``sqrt(p (1 - p) / N)`` over the ``N`` evaluations the entry
  records (:func:`tolerance`); where it records no count, the seed-to-seed standard deviation alone, and the
  ``rule`` column says so. A quantity with neither is reported and not judged;
- every claim's verdict and measured value from the recomputed results beside the committed ones
  (:func:`verdict_changes`).

A check fails when a verdict changes or a difference exceeds its tolerance. :func:`sample_keys` picks the
entries a sampled check recomputes; :func:`append_record` keeps a committed record of every check, which
the status page shows (:func:`record_table`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .check_record import RECORD, RECORD_COLUMNS, append_record, expectation, record_table, summarise  # noqa: F401

#: A recomputed quantity is within tolerance when it differs from the committed one by at most this many
#: seed-to-seed standard deviations (over committed runs of the same config but the seed).
TOLERANCE_SDS = 1.0
#: A share measured over a count of evaluations: quantity -> the result fields that may hold that count (the first
#: one present is read). Two independent measurements of such a share differ by their counting errors even on
#: identical models (:func:`binomial_se`, :func:`tolerance`).
COUNTS = {"sensitivity": ("sens_evaluations", "n_evaluations", "evaluations")}


def _scalars(result: dict) -> dict:
    """The top-level numeric results of an entry (histories, weights, timings left out)."""
    return {
        k: float(v)
        for k, v in result.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.endswith("seconds")
    }


def _untimed(obj):
    """``obj`` without timings (keys ending in ``seconds``), at any depth: what "bit-identical" compares."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if not k.endswith("seconds")}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def _numbers(obj, prefix: str = "") -> dict:
    """Every number of an entry's result at any depth (histories, per-string arrays), ``{path: value}``, timings aside."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not k.endswith("seconds"):
                out.update(_numbers(v, f"{prefix}/{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_numbers(v, f"{prefix}/{i}"))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[prefix] = float(obj)
    return out


def _largest_rel(a: dict, b: dict) -> float:
    worst = 0.0
    for k in a.keys() & b.keys():
        x, y = a[k], b[k]
        if x != y and not (math.isnan(x) and math.isnan(y)):
            worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-12))
    return worst


def _group_key(config) -> str:
    """The entry's config without any field naming a seed, as text: runs that differ only in their seed share it."""

    def strip(c):
        if isinstance(c, dict):
            return {k: strip(v) for k, v in c.items() if "seed" not in k}
        return c

    return json.dumps(strip(config), sort_keys=True)


def seed_spread(entries: list[dict]) -> dict[tuple[str, str], float]:
    """``{(group, quantity): standard deviation}`` over committed entries that differ only in their seed (groups of
    at least two)."""
    groups: dict[str, list[dict]] = {}
    for e in entries:
        groups.setdefault(_group_key(e["config"]), []).append(_scalars(e["result"]))
    out = {}
    for g, rows in groups.items():
        if len(rows) < 2:
            continue
        df = pd.DataFrame(rows)
        for q, sd in df.std(ddof=1).items():
            if math.isfinite(sd):
                out[(g, q)] = float(sd)
    return out


def count_of(result: dict, quantity: str) -> int | None:
    """The number of evaluations ``result`` records for ``quantity``, a share (:data:`COUNTS`); None otherwise."""
    field = next((f for f in COUNTS.get(quantity, ()) if isinstance(result.get(f), (int, float))), None)
    return int(result[field]) if field is not None and result[field] > 0 else None


def binomial_se(result: dict, quantity: str) -> float | None:
    """The counting error of ``quantity``, a share ``p`` over the ``N`` evaluations ``result`` records: the binomial
    standard error ``sqrt(p (1 - p) / N)``; None for a quantity that is not a share or records no count."""
    n, p = count_of(result, quantity), result.get(quantity)
    if n is None or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        return None
    return math.sqrt(p * (1 - p) / n)


def tolerance(result: dict, quantity: str, seed_sd: float | None) -> tuple[float | None, str]:
    """``(tolerance, rule)`` for a recomputed ``quantity`` of the committed ``result``.

    A counted share: its seed-to-seed standard deviation combined with the counting error of the two measurements
    compared (committed and recomputed, each with the binomial standard error ``se``): ``sqrt(sd² + 2 se²)``, so a
    share counted over few evaluations is not flagged for a difference its counting explains. Other quantities, and
    a share whose entry records no count: the seed-to-seed standard deviation alone. Times :data:`TOLERANCE_SDS`."""
    se = binomial_se(result, quantity)
    if se is not None:
        n = count_of(result, quantity)
        var, rule = 2 * se**2 + (seed_sd or 0.0) ** 2, f"counting error ({n} evaluations)"
        return TOLERANCE_SDS * math.sqrt(var), ("seed SD + " if seed_sd is not None else "") + rule
    if seed_sd is None:
        return None, "none (no seed spread)"
    shared = quantity in COUNTS and quantity in result
    return TOLERANCE_SDS * seed_sd, "seed SD" + (" (no count recorded)" if shared else "")


def _load(folder: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(folder)): json.loads(p.read_text())
        for p in sorted(folder.rglob("*.json"))
        if p.parent != folder
    }


def entry_differences(committed: Path, fresh: Path, only: set[str] | None = None) -> pd.DataFrame:
    """One row per (recomputed entry, scalar quantity): committed and recomputed values, the relative
        difference, the seed-to-seed standard deviation, the tolerance, the ``rule`` that gave it (:func:`tolerance`)
        and whether the difference is within it (None: nothing to judge by), and one row ``"<all numbers>"`` per entry with the largest relative
    difference over every number it holds (histories and arrays too; not judged). ``only``: the entries (paths relative to ``fresh``) to compare; an
        entry missing from ``committed`` gives a row with quantity ``"<missing>"``."""
    old, new = _load(committed), _load(fresh)
    spread = seed_spread(list(old.values()))
    rows = []
    for path, e in new.items():
        if only is not None and path not in only:
            continue
        c = old.get(path)
        if c is None:
            rows.append({"entry": path, "quantity": "<missing>", "identical": False, "within": False})
            continue
        identical = json.dumps(_untimed(c["result"]), sort_keys=True) == json.dumps(
            _untimed(e["result"]), sort_keys=True
        )
        # every number of the entry, histories and per-string arrays included: reported, not judged
        rows.append(
            {
                "entry": path,
                "quantity": "<all numbers>",
                "identical": identical,
                "rel_diff": _largest_rel(_numbers(c["result"]), _numbers(e["result"])),
                "within": None,
            }
        )
        a, b = _scalars(c["result"]), _scalars(e["result"])
        g = _group_key(c["config"])
        for q in sorted(a.keys() & b.keys()):
            x, y = a[q], b[q]
            diff = 0.0 if (x == y or (math.isnan(x) and math.isnan(y))) else abs(x - y)
            sd = spread.get((g, q))
            tol, rule = tolerance(c["result"], q, sd)
            rows.append(
                {
                    "entry": path,
                    "quantity": q,
                    "identical": identical,
                    "committed": x,
                    "recomputed": y,
                    "rel_diff": diff / max(abs(x), abs(y), 1e-12) if diff else 0.0,
                    "seed_sd": sd,
                    "tolerance": tol,
                    "rule": rule,
                    "within": None if tol is None else bool(diff <= tol),
                }
            )
    cols = ["entry", "quantity", "identical", "committed", "recomputed", "rel_diff", "seed_sd", "tolerance", "rule"]
    cols += ["within"]
    return pd.DataFrame(rows, columns=cols)


def verdict_changes(committed: list[dict], recomputed: list[dict]) -> pd.DataFrame:
    """Claims (records as :func:`~replication.report.claims.record` writes them) side by side: verdict and
    measured value, committed and recomputed; ``changed`` where the verdict (holds, testable) differs or a
    claim is missing on one side."""
    key = lambda c: c["claim"]  # noqa: E731
    a, b = {key(c): c for c in committed}, {key(c): c for c in recomputed}
    rows = []
    for claim in list(dict.fromkeys(list(a) + list(b))):
        x, y = a.get(claim), b.get(claim)
        verdict = lambda c: (
            None
            if c is None
            else (
                "not testable"
                if not c.get("testable", True)
                # noqa: E731
                else "holds"
                if c["holds"]
                else "fails"
            )
        )
        rows.append(
            {
                "claim": claim,
                "committed": verdict(x),
                "recomputed": verdict(y),
                "committed_measured": None if x is None else x["measured"],
                "recomputed_measured": None if y is None else y["measured"],
                "changed": verdict(x) != verdict(y),
            }
        )
    return pd.DataFrame(
        rows, columns=["claim", "committed", "recomputed", "committed_measured", "recomputed_measured", "changed"]
    )


def scorecard_changes(before: Path, after: Path, scale: str = "cpu") -> pd.DataFrame:
    """Every chapter's claims recorded under two claims roots (``<root>/<scale>/<chapter>.json``, as
    :func:`~replication.report.claims.record` writes them), compared: :func:`verdict_changes` per chapter with its
    ``chapter``, ``measured_changed`` where the measured text differs, and ``note_changed``. Built books before and
    after a change that should compute nothing new show no row with any of the three set (``make claims-diff``)."""
    frames = []
    for chapter in sorted({f.stem for r in (before, after) for f in (Path(r) / scale).glob("*.json")}):
        a, b = (
            json.loads(f.read_text()) if f.exists() else []
            for f in (Path(r) / scale / f"{chapter}.json" for r in (before, after))
        )
        v = verdict_changes(a, b)
        notes_a, notes_b = ({c["claim"]: c.get("note") for c in x} for x in (a, b))
        v["note_changed"] = [notes_a.get(c) != notes_b.get(c) for c in v["claim"]]
        v["measured_changed"] = v["committed_measured"] != v["recomputed_measured"]
        frames.append(v.assign(chapter=chapter).rename(columns={"committed": "before", "recomputed": "after"}))
    cols = ["chapter", "claim", "before", "after", "changed", "measured_changed", "note_changed"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def sample_keys(folder: Path, kinds: list[str], k: int, among: set[str] | None = None) -> list[str]:
    """``k`` entries per kind to recompute in a sampled check, those the claims lean on most: converged runs at
    the longest inputs first (larger ``n``, then lower seed), then the rest in key order. Paths relative to
    ``folder``; ``among``: only these (the entries the chapter reads; None: every entry)."""
    out = []
    for kind in kinds:
        entries = []
        for p in sorted((folder / kind).glob("*.json")):
            if among is not None and f"{kind}/{p.name}" not in among:
                continue
            e = json.loads(p.read_text())
            cfg = e["config"].get("config", e["config"]) if isinstance(e["config"], dict) else {}
            cfg = cfg if isinstance(cfg, dict) else {}
            converged = bool(e["result"].get("converged", True)) if isinstance(e["result"], dict) else True
            entries.append((not converged, -float(cfg.get("n", 0) or 0), cfg.get("seed", 0) or 0, p.name))
        out += [f"{kind}/{name}" for *_, name in sorted(entries)[:k]]
    return out
