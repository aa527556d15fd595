"""The results store: safe entries, modes (auto / require / write / off), provenance, clear errors."""

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from replication.runs import cache as cache_mod
from replication.runs.cache import Cache, CacheError
from replication.runs.store import ResultsMissing, Store
from replication.report.status import origin_note, status_table, write_status
from replication.runs.chapters import KIND_CHAPTER
from replication.runs.sweep import run_sweep


@dataclass(frozen=True)
class Toy:
    x: int


def measure_toy(cfg: Toy, device: str) -> dict:
    return {"value": cfg.x**2, "state": {"w": torch.full((2, 3), float(cfg.x))}}


def fail_if_called(cfg: Toy, device: str) -> dict:  # pragma: no cover - must not run
    raise AssertionError("the sweep trained although it should have stopped first")


def test_entry_round_trip_is_exact_and_safe(tmp_path):
    c = Cache(tmp_path)
    sd = {"layer.weight": torch.randn(4, 5, generator=torch.Generator().manual_seed(0)), "b": torch.arange(3)}
    result = {"loss": 0.25, "ok": True, "hist": [{"step": 0, "mse": float("nan")}], "state_dict": sd, "name": "p"}
    path = c.save("kind", {"n": 4}, result, {"scale": "ci"})
    assert path.suffix == ".json" and path.with_suffix(".safetensors").exists()
    back = c.load("kind", {"n": 4})
    assert back["loss"] == 0.25 and back["ok"] is True and back["name"] == "p"
    assert back["hist"][0]["step"] == 0 and back["hist"][0]["mse"] != back["hist"][0]["mse"]  # NaN survives
    for k, v in sd.items():
        assert torch.equal(back["state_dict"][k], v) and back["state_dict"][k].dtype == v.dtype
    entry = json.loads(path.read_text())
    assert entry["provenance"] == {"scale": "ci"} and entry["version"] == cache_mod.CODE_VERSION


class _Payload:
    """Unpickling this object creates a file: proof that a loader ran code from an entry."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_the_cache_never_unpickles(tmp_path):
    c = Cache(tmp_path)
    p = c.save("kind", {"n": 2}, {"w": torch.zeros(2)})
    marker = tmp_path / "code-ran"
    torch.save({"w": _Payload(marker)}, p.with_suffix(".safetensors"))  # a pickle where tensors belong
    with pytest.warns(UserWarning, match="unreadable"):
        assert c.load("kind", {"n": 2}) is None
    assert not marker.exists()


def test_unreadable_entry_is_removed_and_recomputed(tmp_path):
    c = Cache(tmp_path)
    p = c.save("kind", {"n": 1}, {"v": 1})
    p.write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable"):
        assert c.load("kind", {"n": 1}) is None
    assert not p.exists()
    assert c.get_or_compute("kind", {"n": 1}, lambda: {"v": 2}) == {"v": 2}


def test_unwritable_folder_gives_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    c = Cache(blocker / "cache")
    with pytest.raises(CacheError, match=str(blocker / "cache")):
        c.save("kind", {"n": 1}, {"v": 1})
    with pytest.raises(CacheError, match="cache"):
        run_sweep([Toy(1), Toy(2)], fail_if_called, "toy", cache=c, n_jobs=1, progress=False)


def test_full_disk_is_named(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.os, "replace", full)
    with pytest.raises(CacheError, match="disk is full") as info:
        Cache(tmp_path).save("kind", {"n": 1}, {"v": 1})
    assert str(tmp_path / "kind") in str(info.value)
    assert not list((tmp_path / "kind").glob("*"))  # no temporary file left behind


def test_write_mode_commits_per_run_with_provenance(tmp_path):
    store = Store(cache=tmp_path / "local", results=tmp_path / "results", mode_="write", scale="ci")
    df = run_sweep([Toy(1), Toy(2)], measure_toy, "toy", cache=store, n_jobs=1, progress=False)
    entries = sorted((tmp_path / "results" / "ci" / "toy").glob("*.json"))
    assert len(entries) == 2 and not (tmp_path / "local" / "toy").exists()
    prov = json.loads(entries[0].read_text())["provenance"]
    for field in ("scale", "computed_at", "wall_seconds", "device", "machine", "package_version", "commit"):
        assert prov[field] not in (None, ""), field
    assert prov["scale"] == "ci"
    table = (tmp_path / "results" / "ci" / "toy.csv").read_text().splitlines()
    assert table[0].startswith("key,") and len(table) == 3
    assert list(df["source"]) == ["computed", "computed"]


def test_auto_reads_committed_results_first(tmp_path):
    Store(cache=tmp_path / "a", results=tmp_path / "results", mode_="write", scale="cpu").get_or_compute(
        "toy", {"x": 3}, lambda: {"value": 9}
    )
    store = Store(cache=tmp_path / "b", results=tmp_path / "results", mode_="auto", scale="cpu")
    assert store.find("toy", {"x": 3})[1] == "results"
    assert store.get_or_compute("toy", {"x": 3}, lambda: pytest.fail("recomputed a committed result")) == {"value": 9}
    assert "read from the committed `results/` folder" in origin_note()


def test_require_mode_stops_before_training_and_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setitem(KIND_CHAPTER, "toy_required", "42")
    root = tmp_path / "results"
    writer = Store(cache=tmp_path / "w", results=root, mode_="write", scale="cpu")
    run_sweep([Toy(1)], measure_toy, "toy_required", cache=writer, n_jobs=1, progress=False)
    reader = Store(cache=tmp_path / "r", results=root, mode_="require", scale="cpu")
    df = run_sweep([Toy(1)], fail_if_called, "toy_required", cache=reader, n_jobs=1, progress=False)
    assert list(df["source"]) == ["results"] and df["value"].iloc[0] == 1
    with pytest.raises(ResultsMissing, match=r"make results CHAPTER=42") as info:
        run_sweep([Toy(1), Toy(5)], fail_if_called, "toy_required", cache=reader, n_jobs=1, progress=False)
    assert "1 other" in str(info.value)  # a stale config is told apart from no results at all
    assert "CPU-minutes (the committed runs' mean" in str(info.value)  # what computing the missing one costs
    with pytest.raises(ResultsMissing):
        reader.get_or_compute("toy_required", {"x": 7}, lambda: pytest.fail("computed in require mode"))


def test_prune_keeps_only_the_configs_asked_for(tmp_path):
    root = tmp_path / "results"
    writer = Store(cache=tmp_path / "w", results=root, mode_="write", scale="cpu")
    run_sweep([Toy(1), Toy(2), Toy(3)], measure_toy, "toy_pruned", cache=writer, n_jobs=1, progress=False)
    keep = [{"config": Toy(1), "device": "cpu"}, {"config": Toy(3), "device": "cpu"}]
    removed = writer.prune("toy_pruned", keep)
    assert len(removed) == 1 and len(writer.target.entries("toy_pruned")) == 2
    assert not writer.contains("toy_pruned", {"config": Toy(2), "device": "cpu"})
    assert writer.contains("toy_pruned", keep[0]) and writer.contains("toy_pruned", keep[1])
    assert len((root / "cpu" / "toy_pruned.csv").read_text().splitlines()) == 3  # header and two rows
    with pytest.raises(ValueError, match="mode"):
        Store(cache=tmp_path / "r", results=root, mode_="require", scale="cpu").prune("toy_pruned", keep)


def test_origin_note_names_every_machine():
    from replication.runs.store import ORIGINS, log_origin

    ORIGINS.clear()
    for m in ("box A", "box B", "box A"):
        log_origin("toy_machines", "results", {"scale": "cpu", "computed_at": "2026-01-01T00:00:00", "machine": m})
    assert "computed 2026-01-01 on box A and box B)" in origin_note()
    ORIGINS.clear()


def test_off_mode_never_reads_results(tmp_path):
    Store(cache=tmp_path / "a", results=tmp_path / "results", mode_="write", scale="cpu").get_or_compute(
        "toy", {"x": 4}, lambda: {"value": 16}
    )
    off = Store(cache=tmp_path / "b", results=tmp_path / "results", mode_="off", scale="cpu")
    assert off.find("toy", {"x": 4}) == (None, "missing")


def test_status_record_and_table(tmp_path):
    rec = write_status("05_sharpness", "ci", root=tmp_path)
    assert rec["peak_memory_mb"] > 10 and rec["seconds"] >= 0
    table = status_table("ci", root=tmp_path)
    assert list(table.index) == ["05_sharpness"] and table.loc["05_sharpness", "scale"] == "ci"
    assert status_table("paper", root=tmp_path).empty


def test_bad_mode_is_named(monkeypatch):
    monkeypatch.setenv("REPLICATION_RESULTS", "sometimes")
    with pytest.raises(ValueError, match="REPLICATION_RESULTS"):
        Store()
    assert os.environ["REPLICATION_RESULTS"] == "sometimes"


def test_provenance_tells_machines_apart_and_old_entries_still_load(tmp_path):
    """New entries record the CPU (vendor, model, family, instruction set, BLAS); an entry written before
    those fields existed loads unchanged (provenance is never part of a key)."""
    from replication.runs.provenance import provenance

    prov = provenance(scale="ci")
    for field in (
        "cpu_vendor",
        "cpu_model",
        "cpu_family",
        "cpu_model_number",
        "cpu_capability",
        "blas",
        "torch_threads",
    ):
        assert field in prov, field
    assert prov["cpu_capability"] and prov["torch_threads"] >= 1
    store = Store(cache=tmp_path / "c", results=tmp_path / "results", mode_="write", scale="ci")
    path = store.save("toy_old", {"x": 1}, {"value": 1})
    entry = json.loads(path.read_text())
    entry["provenance"] = {k: v for k, v in entry["provenance"].items() if not k.startswith(("cpu_", "blas"))}
    path.write_text(json.dumps(entry))
    assert store.load("toy_old", {"x": 1}) == {"value": 1}


def test_the_status_table_lists_pages_in_reading_order(tmp_path):
    for stem in ("11_language_sensitivity", "10_vision_sensitivity", "10_2_ten_class", "10_1_binary_mnist"):
        write_status(stem, "ci", root=tmp_path)
    order = ["10_vision_sensitivity", "10_1_binary_mnist", "10_2_ten_class", "11_language_sensitivity"]
    assert list(status_table("ci", root=tmp_path).index) == order  # by file name, 10_1 would come first
