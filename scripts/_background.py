"""What every background sweep script sets before importing the package: the repository on the path, results
written into ``results/cpu`` (``REPLICATION_RESULTS=write``), the cpu scale, no progress bars, one torch thread.
A sweep script calls :func:`cpu_store` first and imports the chapter after it."""

import os
import sys
from pathlib import Path


def cpu_store():
    """Set the environment for a cpu sweep and return the store it writes into."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.update(REPLICATION_RESULTS="write", REPLICATION_SCALE="cpu", REPLICATION_QUIET="1")
    import torch

    torch.set_num_threads(1)
    from replication.runs.store import Store

    return Store(scale="cpu")
