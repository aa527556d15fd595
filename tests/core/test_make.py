"""The notebook-free entry point, ``python -m replication.make``, at `ci` scale on the CPU, with the packages
a device image lacks made unimportable."""

from __future__ import annotations

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


def _make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
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
