"""A sweep through a real Dask cluster: a scheduler and two workers started as separate processes with
Dask's own command-line tools (loopback only), writing into one cache folder; the frame equals the local one."""

import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from replication.runs.cache import Cache
from replication.runs.encoder.sweep import KIND, SweepConfig, measure_run, run_configs
from replication.runs.sweep import ORIGIN_COLUMNS, run_sweep

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from cluster import cli_cluster  # noqa: E402

#: Wall-clock time columns: they differ between any two computations of the same run.
TIMES = ["train_seconds", "measure_seconds"]


@pytest.mark.slow
def test_cli_cluster_sweep_equals_the_local_one(tmp_path):
    runs = run_configs(SweepConfig.from_params(scale="ci"))[:4]
    shared = tmp_path / "shared-cache"  # the folder every worker writes to (here: the same disk)
    local = run_sweep(runs, measure_run, KIND, cache=Cache(tmp_path / "local"), n_jobs=1, progress=False)
    t0 = time.time()
    with cli_cluster(
        workers=2,
        env={"REPLICATION_RESULTS": "off", "REPLICATION_CACHE": str(shared)},
        timeout=60,
        log_dir=str(tmp_path),
    ) as address:
        assert address.startswith("tcp://127.0.0.1:")
        remote = run_sweep(runs, measure_run, KIND, cache=Cache(shared), scheduler=address, progress=False)
        logs = sorted(p.name for p in tmp_path.glob("worker-*.log"))
    assert time.time() - t0 < 60
    assert logs == ["worker-0.log", "worker-1.log"]  # two separate worker processes
    assert (remote["source"] == "computed").all()
    assert len(list((shared / KIND).glob("*.json"))) == len(runs)  # written by the workers
    drop = ORIGIN_COLUMNS + TIMES
    pd.testing.assert_frame_equal(local.drop(columns=drop), remote.drop(columns=drop))
    again = run_sweep(runs, measure_run, KIND, cache=Cache(shared), n_jobs=1, progress=False)
    assert again["cached"].all()  # the cluster's entries are read back locally
