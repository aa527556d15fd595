"""Compute the committed results of the book's chapters (``make results``), or check them.

    python scripts/make_results.py [--chapter 05] [--scale cpu] [--resume]
    python scripts/make_results.py --check [--chapter 05] [--scale cpu]

The chapters and their order come from the registry (:mod:`replication.runs.chapters`: reading order, a chapter
after those whose results it reads). Without ``--resume`` the chapter's stored results at that scale are removed
first and everything is recomputed from nothing. A chapter with a notebook-free hook (:mod:`replication.make`)
has its runs computed by ``python -m replication.make`` first (batched on a GPU at `paper` scale; one run at a time
otherwise, as its notebook trains them), and its notebook then computes whatever else it needs. With ``--resume``
the runs already under ``results/<scale>/`` are kept and only the missing ones are computed: a sweep longer
than a session lands in parts (each run is written as soon as it finishes) and continues where it stopped.
Each chapter notebook is executed with papermill in ``write`` mode (:mod:`replication.runs.store`); the
executed notebook is thrown away.

``--check`` recomputes the chapter's own results into a temporary folder (the results of other chapters
that it reads are copied there, not recomputed) and judges the recomputation by what the claims read
(:mod:`replication.report.recheck`): per entry, bit-identical or not, and each scalar result against a
tolerance of one seed-to-seed standard deviation of the committed runs (a counted proportion: that combined with
its own counting error; the output says which tolerance judged each quantity); and every claim's verdict from the
recomputed results beside the verdict from the committed ones (the notebook executed a second time, reading
``results/``). It exits non-zero when a verdict changes or a difference exceeds its tolerance.
``--sample K`` recomputes only K entries per result kind (converged runs at the longest inputs first) and
reads the rest; ``--record`` appends the outcome to ``results/checks.csv``, which the status page shows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replication.runs.chapters import CHAPTERS, Chapter, chapter, compute_order  # noqa: E402
from replication.runs.config import SCALES  # noqa: E402
from replication.make import notebook_free  # noqa: E402
from replication.report import recheck  # noqa: E402
from replication.runs.provenance import machine  # noqa: E402
from replication.runs.store import results_dir  # noqa: E402


def chapters(wanted: list[str] | None) -> list[Chapter]:
    """The chapters of the registry (all, or those ``wanted``), in the order they are computed."""
    try:
        chosen = [chapter(w) for w in wanted] if wanted else list(CHAPTERS)
    except ValueError as e:
        raise SystemExit(f"CHAPTER: {e}") from e
    return compute_order(list(dict.fromkeys(chosen)))


def notebook(ch: Chapter) -> Path:
    return ROOT / "notebooks" / f"{ch.stem}.ipynb"


def clear(ch: Chapter, root: Path) -> None:
    for kind in sorted(ch.kinds):
        shutil.rmtree(root / kind, ignore_errors=True)
        (root / f"{kind}.csv").unlink(missing_ok=True)
        print(f"  removed {root / kind}")


def execute(nb: Path, scale: str, env: dict) -> float:
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "papermill",
            str(nb),
            str(Path(tmp) / nb.name),
            "-p",
            "scale",
            scale,
            "--cwd",
            str(nb.parent),
            "--log-level",
            "WARNING",
        ]
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    return time.time() - t0


def check(ch: Chapter, scale: str, committed: Path, tmp: Path, env: dict, sample: int | None, record: bool) -> bool:
    """Recompute chapter ``ch`` into ``tmp`` (all of its own entries, or ``sample`` per kind) and judge it."""
    nb, kinds = notebook(ch), sorted(ch.kinds)
    root = tmp / ch.number
    src, dst = committed / scale, root / "results" / scale
    dst.mkdir(parents=True)
    for kind_dir in (p for p in src.iterdir() if p.is_dir()) if src.exists() else []:
        if kind_dir.name not in kinds or sample:  # others' results are read; in a sample, the chapter's too
            shutil.copytree(kind_dir, dst / kind_dir.name)
    # First the chapter as the book builds it, from the committed results, logging every entry it reads: a
    # sample is drawn from those (an entry the chapter no longer reads would not be recomputed).
    read_log = root / "read.log"
    old_env = {
        **env,
        "REPLICATION_RESULTS": "require",
        "REPLICATION_CACHE": str(root / "committed_cache"),
        "REPLICATION_READ_LOG": str(read_log),
    }
    print(f"  read from results/ in {execute(nb, scale, old_env):.0f} s")
    read = set(read_log.read_text().split()) if read_log.exists() else set()
    redo = recheck.sample_keys(src, kinds, sample, among=read) if sample else None
    for key in redo or []:
        (dst / key).unlink()
        (dst / key).with_suffix(".safetensors").unlink(missing_ok=True)
    fresh_env = {**env, "REPLICATION_RESULTS_DIR": str(root / "results"), "REPLICATION_CACHE": str(root / "cache")}
    took = execute(nb, scale, fresh_env)
    print(f"  recomputed in {took:.0f} s" + (f" ({len(redo)} sampled entries)" if sample else ""))
    only = set(redo) if sample else {str(p.relative_to(dst)) for k in kinds for p in (dst / k).glob("*.json")}
    diffs = recheck.entry_differences(src, dst, only=only)
    claims = lambda cache: json.loads((cache / "claims" / scale / f"{nb.stem}.json").read_text())  # noqa: E731
    verdicts = recheck.verdict_changes(claims(root / "committed_cache"), claims(root / "cache"))
    mode = f"sampled {sample} per kind" if sample else "full"
    row = recheck.summarise(nb.stem, scale, machine(), mode, diffs, verdicts)
    print(
        f"  {row['entries']} entries recomputed, {row['identical']} bit-identical; largest relative difference "
        f"{row['largest_rel_diff']:.3g}; {row['beyond_tolerance']} quantities beyond one seed-to-seed standard "
        f"deviation; {row['verdicts_changed']} of {row['claims']} verdicts changed"
    )
    judged = diffs[diffs["rule"].notna()] if "rule" in diffs else diffs.iloc[:0]
    for rule, n in judged.groupby("rule").size().items():
        print(f"    tolerance {rule}: {n} quantities")
    for r in diffs[diffs["within"] == False].head(10).itertuples():  # noqa: E712 (None: not judged)
        print(
            f"    beyond tolerance: {r.entry} {r.quantity}: committed {r.committed:.6g}, recomputed "
            f"{r.recomputed:.6g}, tolerance {r.tolerance:.3g} ({r.rule})"
        )
    for r in verdicts.itertuples():
        print(
            f"    {'CHANGED ' if r.changed else ''}{r.committed} -> {r.recomputed}: {r.claim[:70]}"
            + (f" [{r.committed_measured} -> {r.recomputed_measured}]" if r.changed else "")
        )
    if record:
        print(f"  recorded in {recheck.append_record(row)}")
    return bool(row["passed"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chapter", action="append", help="two-digit chapter number (repeatable); default: all")
    ap.add_argument("--scale", default="cpu", choices=SCALES)
    ap.add_argument("--resume", action="store_true", help="keep stored runs; compute only the missing ones")
    ap.add_argument("--check", action="store_true", help="recompute into a temporary folder and compare")
    ap.add_argument("--sample", type=int, default=None, help="with --check: recompute only this many entries per kind")
    ap.add_argument("--record", action="store_true", help="with --check: append the outcome to results/checks.csv")
    args = ap.parse_args(argv)
    if args.sample is not None and (args.sample < 1 or not args.check):
        ap.error(f"--sample: needs --check and a count >= 1, got {args.sample}")
    todo = chapters(args.chapter)
    hooked = {c.number for c in notebook_free()}
    committed = results_dir()
    env = {**os.environ, "REPLICATION_SCALE": args.scale, "REPLICATION_RESULTS": "write", "REPLICATION_QUIET": "1"}
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            failed = []
            for ch in todo:
                print(f"chapter {ch.stem} at scale {args.scale}: check ({'sampled' if args.sample else 'full'})")
                if not check(ch, args.scale, committed, Path(tmp), env, args.sample, args.record):
                    failed.append(ch.stem)
        print("check passed" if not failed else f"check FAILED: {', '.join(failed)}")
        return 1 if failed else 0
    for ch in todo:
        print(f"chapter {ch.stem} at scale {args.scale}")
        if not args.resume:
            clear(ch, committed / args.scale)
        if ch.number in hooked:
            # the chapter's runs first, without the notebook (python -m replication.make: batched on a GPU at
            # `paper` scale, one at a time otherwise); the notebook then reads them and computes whatever else
            one_by_one = [] if args.scale == "paper" else ["--batch-size", "1"]
            cmd = [sys.executable, "-m", "replication.make", "--scale", args.scale, "--chapter", ch.number]
            subprocess.run(cmd + one_by_one, cwd=ROOT, env=env, check=True)
        print(f"  executed in {execute(notebook(ch), args.scale, env):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
