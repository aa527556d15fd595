"""The sweep runner: caching per run, resumption after an interruption, joblib and dask agree."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest
import torch

from replication.measures import sharpness as sharpness_mod
from replication.runs.cache import Cache
from replication.runs.sweep import ORIGIN_COLUMNS, check_grid, load_results, run_sweep

# Worker processes unpickle the measure functions below; this module is not importable there.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@dataclass(frozen=True)
class Toy:
    a: int
    b: float = 1.0
    calls: str = ""  # folder where each call leaves a file (to count calls across processes)
    fail_at: int = -1  # raise when a == fail_at


def toy_measure(cfg: Toy, device: str) -> dict:
    if cfg.calls:
        Path(cfg.calls, f"{cfg.a}-{time.time_ns()}-{os.getpid()}").touch()
    if cfg.a == cfg.fail_at:
        raise RuntimeError(f"planned failure at a={cfg.a}")
    g = torch.Generator().manual_seed(cfg.a)
    w = torch.randn(8, 8, generator=g)
    return {
        "value": float((w @ w).sum()) * cfg.b,
        "threads": torch.get_num_threads(),
        "state": {"w": w},  # not a scalar: stays in the cache
    }


@dataclass
class NotFrozen:
    a: int


def calls(folder):
    return sorted(p.name.split("-")[0] for p in Path(folder).iterdir())


def test_frame_and_cache(tmp_path):
    cache = Cache(tmp_path / "c")
    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    cfgs = [Toy(a, calls=str(calls_dir)) for a in range(4)]
    df = run_sweep(cfgs, toy_measure, "toy", cache=cache, n_jobs=1)
    assert list(df["a"]) == [0, 1, 2, 3] and list(df.columns[:4]) == ["a", "b", "calls", "fail_at"]
    assert {"device", "value", "cached"} <= set(df.columns) and "state" not in df.columns
    assert not df["cached"].any() and (df["threads"] == 1).all()
    assert calls(calls_dir) == ["0", "1", "2", "3"]
    again = run_sweep(cfgs, toy_measure, "toy", cache=cache, n_jobs=2)
    assert again["cached"].all()
    pd.testing.assert_frame_equal(df.drop(columns=ORIGIN_COLUMNS), again.drop(columns=ORIGIN_COLUMNS))
    assert calls(calls_dir) == ["0", "1", "2", "3"]  # nothing recomputed
    full = load_results("toy", cfgs, cache=cache)
    assert torch.equal(full[2]["state"]["w"], torch.randn(8, 8, generator=torch.Generator().manual_seed(2)))


def test_interrupted_by_error_then_resumed(tmp_path):
    cache = Cache(tmp_path / "c")
    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    cfgs = [Toy(a, calls=str(calls_dir), fail_at=3) for a in range(3)] + [Toy(3, calls=str(calls_dir), fail_at=3)]
    with pytest.raises(RuntimeError, match="planned failure"):
        run_sweep(cfgs, toy_measure, "toy", cache=cache, n_jobs=1)
    assert calls(calls_dir) == ["0", "1", "2", "3"]
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "c" / "toy").glob("*.json")}
    assert len(mtimes) == 3
    fixed = cfgs[:3] + [Toy(3, calls=str(calls_dir))]
    df = run_sweep(fixed, toy_measure, "toy", cache=cache, n_jobs=2)
    assert list(df["cached"]) == [True, True, True, False]
    assert calls(calls_dir) == ["0", "1", "2", "3", "3"]  # only the failed run ran again
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items())


def test_bad_grids_rejected(tmp_path):
    cache = Cache(tmp_path)
    for bad, match in [
        ([], "empty"),
        ([NotFrozen(1)], "frozen"),
        ([Toy(1), Toy(1)], "duplicate"),
        ([Toy(1), 3], "dataclass"),
        ("abc", "list"),
    ]:
        with pytest.raises(ValueError, match=match):
            run_sweep(bad, toy_measure, "toy", cache=cache)
    with pytest.raises(ValueError, match="n_jobs"):
        run_sweep([Toy(1)], toy_measure, "toy", cache=cache, n_jobs=0)
    with pytest.raises(ValueError, match="device"):
        run_sweep([Toy(1)], toy_measure, "toy", cache=cache, device="tpu")
    assert not list(tmp_path.iterdir())  # nothing ran
    assert check_grid((Toy(1), Toy(2))) == [Toy(1), Toy(2)]


def test_device_is_part_of_the_key(tmp_path):
    cache = Cache(tmp_path)
    run_sweep([Toy(1)], toy_measure, "toy", cache=cache, device="cpu")
    assert cache.contains("toy", {"config": Toy(1), "device": "cpu"})
    assert not cache.contains("toy", {"config": Toy(1), "device": "cuda"})
    assert not cache.contains("toy", Toy(1))


def test_gpu_runs_go_to_worker_processes(tmp_path, monkeypatch):
    """On a GPU, n_jobs > 1 shares the card between worker processes (checked here with a CPU-only measure)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    df = run_sweep(
        [Toy(a, calls=str(tmp_path)) for a in range(4)],
        toy_measure,
        "toy",
        cache=Cache(tmp_path / "c"),
        n_jobs=2,
        device="cuda",
        progress=False,
    )
    assert set(df["device"]) == {"cuda"} and len(df) == 4
    pids = {p.name.split("-")[2] for p in tmp_path.iterdir() if p.is_file()}
    assert len(pids) >= 1 and str(os.getpid()) not in pids  # computed in workers, not in this process
    shares = run_sweep(
        [Toy(a) for a in range(3)],
        share_measure,
        "share",
        cache=Cache(tmp_path / "s"),
        n_jobs=2,
        device="cuda",
        progress=False,
    )
    assert set(shares["share"]) == {2}  # each worker sizes its GPU batches to half of the free memory


def share_measure(cfg: Toy, device: str) -> dict:

    return {"share": sharpness_mod.GPU_SHARE}


@pytest.mark.slow
def test_parallel_matches_serial_on_real_training(tmp_path):
    from replication.runs.encoder.sweep import SweepConfig, measure_run, run_configs

    cfg = SweepConfig.from_params(scale="ci")
    runs = run_configs(cfg)[:4]
    one = run_sweep(runs, measure_run, "sharpness_run", cache=Cache(tmp_path / "a"), n_jobs=1)
    two = run_sweep(runs, measure_run, "sharpness_run", cache=Cache(tmp_path / "b"), n_jobs=2)
    cols = ["eval_mse", "sharpness", "delta_mse_sharpness", "param_norm", "blowup_sq"]
    pd.testing.assert_frame_equal(one[cols], two[cols])


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_frame(tmp_path):
    from distributed import Client, LocalCluster

    cfgs = [Toy(a, b=0.5) for a in range(6)]
    ref = run_sweep(cfgs, toy_measure, "toy", cache=Cache(tmp_path / "ref"), n_jobs=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            got = run_sweep(cfgs, toy_measure, "toy", cache=Cache(tmp_path / "dask"), scheduler=client)
            assert len(list((tmp_path / "dask" / "toy").glob("*.json"))) == 6
            by_address = run_sweep(
                cfgs, toy_measure, "toy", cache=Cache(tmp_path / "dask"), scheduler=cluster.scheduler_address
            )
    cols = ["a", "b", "value", "device"]
    pd.testing.assert_frame_equal(ref[cols], got[cols])
    assert by_address["cached"].all()


SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_sweep import Toy, slow_measure
    from replication.runs.cache import Cache
    from replication.runs.sweep import run_sweep
    cfgs = [Toy(a, calls={calls!r}) for a in range(8)]
    run_sweep(cfgs, slow_measure, "toy", cache=Cache({root!r}), n_jobs=2, progress=False)
    """
)


def slow_measure(cfg: Toy, device: str) -> dict:
    out = toy_measure(cfg, device)
    time.sleep(0.5 + 0.1 * cfg.a)
    return out


@pytest.mark.slow
def test_killed_sweep_recomputes_no_finished_run(tmp_path):
    """Kill a sweep (its process group) after some runs are cached; the rerun recomputes none of them."""
    calls_dir, root = tmp_path / "calls", tmp_path / "c"
    calls_dir.mkdir()
    script = SCRIPT.format(tests=str(Path(__file__).parent), calls=str(calls_dir), root=str(root))
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    entries = root / "toy"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(entries.glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p: p.stat().st_mtime_ns for p in entries.glob("*.json")}
    assert 3 <= len(done) < 8, f"expected a sweep killed half-way, found {len(done)} finished runs"
    before = len(list(calls_dir.iterdir()))
    cfgs = [Toy(a, calls=str(calls_dir)) for a in range(8)]
    df = run_sweep(cfgs, toy_measure, "toy", cache=Cache(root), n_jobs=2, progress=False)
    assert df["cached"].sum() == len(done)
    assert len(list(calls_dir.iterdir())) - before == 8 - len(done)  # only the unfinished ones ran
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())  # finished entries untouched
