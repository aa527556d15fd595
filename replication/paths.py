"""Where the repository is: the root that holds ``results/``, ``data/`` and the local cache."""

from pathlib import Path

#: The repository root (the folder above the package).
REPO = Path(__file__).resolve().parents[1]
