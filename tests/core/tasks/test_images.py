"""Chapter 10's loaders: the bundled MNIST subset, and Fashion-MNIST idx / CIFAR-10 pickle files the tests write."""

import gzip
from pathlib import Path
import pickle
import struct

import numpy as np
import pytest
import torch

from replication.tasks import images as vision_data


def _idx(path, array, compress=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def _fashion(folder, n_train=6, n_test=4, compress=False):
    rng = np.random.default_rng(0)
    arrays = {
        "train": (rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train)),
        "test": (rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test)),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in vision_data.FASHION_FILES.items():
        ext = ".gz" if compress else ""
        _idx(folder / (images + ext), arrays[split][0], compress)
        _idx(folder / (labels + ext), arrays[split][1], compress)
    return arrays


def _cifar(folder, per_batch=3):
    folder = folder / vision_data.CIFAR_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    batches = {}
    for name in vision_data.CIFAR_TRAIN + (vision_data.CIFAR_TEST,):
        d = {
            b"data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(d))
        batches[name] = d
    return batches


def test_mnist_subset_is_the_bundled_5000_digits_split_by_class():
    d = vision_data.load_mnist()
    assert d.x_train.shape == (4000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert d.x_train.min() >= 0 and d.x_train.max() <= 1 and d.x_train.max() > 0.99
    assert torch.bincount(d.y_train).tolist() == [400] * 10 and torch.bincount(d.y_test).tolist() == [100] * 10
    z = d.standardise(d.x_train)
    assert abs(float(z.mean())) < 1e-4 and abs(float(z.std()) - 1) < 1e-3


def test_subset_is_fixed_and_mixes_classes():
    d = vision_data.load_mnist()
    a, b = d.subset(100, 50), d.subset(100, 50)
    assert torch.equal(a.x_train, b.x_train) and len(a.y_train) == 100 and len(a.y_test) == 50
    assert len(torch.unique(a.y_train)) == 10


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("sub", ["", "fashion-mnist"])
def test_fashion_mnist_from_idx_files(tmp_path, compress, sub):
    arrays = _fashion(tmp_path / sub if sub else tmp_path, compress=compress)
    d = vision_data.load("fashion_mnist", tmp_path)
    assert d.x_train.shape == (6, 1, 28, 28) and d.x_test.shape == (4, 1, 28, 28)
    assert torch.allclose(d.x_train[:, 0] * 255, torch.tensor(arrays["train"][0], dtype=torch.float32))
    assert d.y_test.tolist() == arrays["test"][1].tolist()
    vision_data.check_available("fashion_mnist", str(tmp_path))


def test_idx_with_a_wrong_length_is_rejected(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"abc")
    with pytest.raises(ValueError, match="header says"):
        vision_data.read_idx(p)


def test_cifar10_from_pickled_batches(tmp_path):
    batches = _cifar(tmp_path)
    d = vision_data.load("cifar10", tmp_path)
    assert d.x_train.shape == (15, 3, 32, 32) and d.x_test.shape == (3, 3, 32, 32)
    first = batches["data_batch_1"][b"data"][0].reshape(3, 32, 32)
    assert torch.allclose(d.x_train[0] * 255, torch.tensor(first, dtype=torch.float32))
    assert d.y_test.tolist() == batches["test_batch"][b"labels"]
    assert d.mean.shape == (3, 1, 1)
    vision_data.check_available("cifar10", str(tmp_path))


@pytest.mark.parametrize(
    "name,needle", [("cifar10", "cifar-10-batches-py"), ("fashion_mnist", "train-images-idx3-ubyte")]
)
def test_missing_files_say_where_they_looked_and_how_to_get_them(tmp_path, name, needle):
    for check in (lambda: vision_data.load(name, tmp_path), lambda: vision_data.check_available(name, str(tmp_path))):
        with pytest.raises(FileNotFoundError, match="data_dir") as e:
            check()
        assert str(tmp_path) in str(e.value) and needle in str(e.value) and "Get " in str(e.value)
    with pytest.raises(FileNotFoundError, match="data_dir") as e:  # no data_dir: the repository's data/
        vision_data.check_available(name, "")
    assert str(vision_data.DEFAULT_DATA_DIR) in str(e.value)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="dataset"):
        vision_data.load("cifar100")


@pytest.mark.slow
def test_one_papermill_call_runs_the_chapter_on_fashion_mnist_files(tmp_path, monkeypatch):
    """A reader with Fashion-MNIST's four IDX files runs V25's comparison with one call (here at ci scale on small
    generated files; the binary MNIST experiment is left out, it reads the bundled digits whatever the data)."""
    import json

    import papermill as pm

    _fashion(tmp_path / "data", n_train=300, n_test=150)
    monkeypatch.setenv("REPLICATION_RESULTS", "off")
    monkeypatch.setenv("REPLICATION_CACHE", str(tmp_path / "cache"))
    root = Path(__file__).resolve().parents[3]
    pm.execute_notebook(
        str(root / "notebooks" / "10_vision_sensitivity.ipynb"),
        str(tmp_path / "out.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        cwd=str(root / "notebooks"),
        parameters={"scale": "ci", "dataset": "fashion_mnist", "data_dir": str(tmp_path / "data"), "binary_seeds": 0},
    )
    out = json.loads((tmp_path / "out.ipynb").read_text())
    assert not any(o.get("output_type") == "error" for c in out["cells"] for o in c.get("outputs", []))
