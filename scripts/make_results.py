"""Compute the committed results of the book's chapters (``make results``), or check them.

    python scripts/make_results.py [--chapter 05] [--scale cpu] [--resume]
    python scripts/make_results.py --check [--chapter 05] [--scale cpu]

Without ``--resume`` the chapter's stored results at that scale are removed first and everything is
recomputed from nothing. At `paper` scale a chapter with a notebook-free sweep (:mod:`replication.make`:
chapter 05) has it computed by ``python -m replication.make`` first, batched on the GPU. With ``--resume``
the runs already under ``results/<scale>/`` are kept and only the missing ones are computed: a sweep longer
than a session lands in parts (each run is written as soon as it finishes) and continues where it stopped.
Each chapter notebook is executed with papermill in ``write`` mode (:mod:`replication.runs.store`); the
executed notebook is thrown away.

``--check`` recomputes the chapter into a temporary folder and compares every stored number with the
committed one (timings and provenance aside): identical on the machine that computed them, and within the
spread of seeds elsewhere. It prints the largest differences and exits non-zero if any entry is missing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replication.runs.chapters import CHAPTERS, KIND_CHAPTER  # noqa: E402
from replication.runs.config import SCALES  # noqa: E402
from replication.make import CHAPTERS as NOTEBOOK_FREE  # noqa: E402
from replication.runs.store import results_dir  # noqa: E402

#: Chapters whose results another chapter reads are computed first.
ORDER_FIRST = ("05",)


def chapters(wanted: list[str] | None) -> list[Path]:
    """The chapter notebooks of the registry (:mod:`replication.runs.chapters`), in the order they are computed."""
    found = {c.number: ROOT / "notebooks" / f"{c.stem}.ipynb" for c in CHAPTERS}
    if wanted:
        unknown = [c for c in wanted if c.zfill(2) not in found]
        if unknown:
            raise SystemExit(f"CHAPTER: no chapter {unknown}; chapters: {sorted(found)}")
        found = {c.zfill(2): found[c.zfill(2)] for c in wanted}
    order = [c for c in ORDER_FIRST if c in found] + [c for c in sorted(found) if c not in ORDER_FIRST]
    return [found[c] for c in order]


def owned_kinds(chapter: str) -> list[str]:
    return sorted(k for k, c in KIND_CHAPTER.items() if c == chapter)


def clear(chapter: str, root: Path) -> None:
    for kind in owned_kinds(chapter):
        shutil.rmtree(root / kind, ignore_errors=True)
        (root / f"{kind}.csv").unlink(missing_ok=True)
        print(f"  removed {root / kind}")


def execute(nb: Path, scale: str, env: dict) -> float:
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "papermill", str(nb), str(Path(tmp) / nb.name), "-p", "scale", scale,
               "--cwd", str(nb.parent), "--log-level", "WARNING"]  # fmt: skip
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    return time.time() - t0


def _numbers(obj, prefix=""):
    """Flatten an entry's result into ``{path: number}``, leaving out timings."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not (k.endswith("seconds") or k == "wall_seconds"):
                yield from _numbers(v, f"{prefix}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{prefix}/{i}")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield prefix, float(obj)


def compare(committed: Path, fresh: Path) -> int:
    """Compare every entry under ``fresh`` with the committed one; returns the number of problems."""
    problems, worst, entries = 0, (0.0, ""), 0
    for f in sorted(fresh.rglob("*.json")):
        c = committed / f.relative_to(fresh)
        if not c.exists():
            print(f"  missing in results/: {c.relative_to(ROOT)}")
            problems += 1
            continue
        entries += 1
        a, b = dict(_numbers(json.loads(c.read_text())["result"])), dict(_numbers(json.loads(f.read_text())["result"]))
        for k in a.keys() & b.keys():
            x, y = a[k], b[k]
            if math.isnan(x) and math.isnan(y):
                continue
            rel = abs(x - y) / max(abs(x), abs(y), 1e-12)
            if rel > worst[0]:
                worst = (rel, f"{c.relative_to(ROOT)}:{k} committed {x:.6g}, recomputed {y:.6g}")
    print(f"  {entries} entries compared; largest relative difference {worst[0]:.3g}" + (f" ({worst[1]})" if worst[1] else ""))
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chapter", action="append", help="two-digit chapter number (repeatable); default: all")
    ap.add_argument("--scale", default="cpu", choices=SCALES)
    ap.add_argument("--resume", action="store_true", help="keep stored runs; compute only the missing ones")
    ap.add_argument("--check", action="store_true", help="recompute into a temporary folder and compare")
    args = ap.parse_args(argv)
    notebooks = chapters(args.chapter)
    committed = results_dir()
    env = {**os.environ, "REPLICATION_SCALE": args.scale, "REPLICATION_RESULTS": "write", "REPLICATION_QUIET": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        if args.check:
            env["REPLICATION_RESULTS_DIR"] = tmp
            env["REPLICATION_CACHE"] = str(Path(tmp) / "_cache")
        for nb in notebooks:
            ch = nb.name[:2]
            print(f"chapter {nb.stem} at scale {args.scale}")
            if not args.resume and not args.check:
                clear(ch, committed / args.scale)
            if args.scale == "paper" and ch in NOTEBOOK_FREE and not args.check:
                # the chapter's sweep first, batched on the GPU (python -m replication.make); the notebook then
                # reads it and computes whatever else it needs
                subprocess.run([sys.executable, "-m", "replication.make", "--scale", "paper", "--chapter", ch],
                               cwd=ROOT, env=env, check=True)  # fmt: skip
            print(f"  executed in {execute(nb, args.scale, env):.0f} s")
        if args.check:
            return 1 if compare(committed / args.scale, Path(tmp) / args.scale) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
