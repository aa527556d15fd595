"""A real Dask cluster on this machine, started with Dask's own command-line tools (loopback only).

One ``dask scheduler`` process and ``workers`` ``dask worker`` processes (one thread each, no nanny), each in
a process group of its own, so that leaving the block ends them all, whatever happened inside it. They stay
in this session: under the kernel's per-session CPU scheduling (autogroup) they share this session's CPU
time as joblib's workers do, so the two compare like for like on a machine that other jobs load. This is what a
reader with several machines starts by hand (README, "Performance"): the same two commands, with the
scheduler's address instead of a scheduler file and the results cache on a shared file system.

Used by ``benchmarks/run.py`` (runs per second through the cluster) and ``tests/core/runs/test_sweep_dask.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The ``dask`` command of this environment (next to the running Python).
DASK = str(Path(sys.executable).with_name("dask"))


def _stop(procs: list[subprocess.Popen], grace: float = 5.0) -> None:
    """SIGTERM each process group we started, then SIGKILL what is still there after ``grace`` seconds."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    deadline = time.time() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@contextlib.contextmanager
def cli_cluster(workers: int = 2, env: dict | None = None, timeout: float = 60.0, log_dir: str | None = None):
    """Start ``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1; yield the scheduler's
    address (``tcp://127.0.0.1:PORT``) once every worker has joined; stop them all on leaving.

    ``env``: extra environment variables of the workers (e.g. ``REPLICATION_RESULTS=off``). Raises
    ``TimeoutError`` if the cluster is not up within ``timeout`` seconds (the processes are stopped).
    """
    from distributed import Client

    procs: list[subprocess.Popen] = []
    tmp = tempfile.TemporaryDirectory(prefix="replication-dask-")
    logs = Path(log_dir or tmp.name)
    sched_file = Path(tmp.name) / "scheduler.json"
    worker_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}

    def start(args: list[str], name: str, env_: dict) -> None:
        out = open(logs / f"{name}.log", "w")
        procs.append(
            subprocess.Popen(
                [DASK, *args], stdout=out, stderr=subprocess.STDOUT, env=env_, cwd=tmp.name, process_group=0
            )
        )
        out.close()

    try:
        start(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
            "scheduler",
            dict(os.environ),
        )
        deadline = time.time() + timeout
        while not sched_file.exists():
            if time.time() > deadline or procs[0].poll() is not None:
                raise TimeoutError(f"dask scheduler did not start; log: {(logs / 'scheduler.log').read_text()[-2000:]}")
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(workers):
            start(
                [
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--name",
                    f"worker-{i}",
                    "--local-directory",
                    tmp.name,
                    "--death-timeout",
                    "30",
                ],
                f"worker-{i}",
                worker_env,
            )
        with Client(address, timeout=max(1.0, deadline - time.time())) as client:
            client.wait_for_workers(workers, timeout=max(1.0, deadline - time.time()))
        yield address
    finally:
        _stop(procs)
        tmp.cleanup()
