"""Pinned cache keys: one committed key per result kind, built by the chapters' own code.

Every committed result under ``results/`` is found by a key that hashes its kind, every field of its
config (with their defaults) and ``CODE_VERSION``. A change that moves, renames or re-defaults a hashed
field would silently orphan the committed results; these keys (each copied from a committed entry at
``cpu`` scale) catch it. The tests build the configs from the presets, never read ``results/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from replication.runs.cache import config_key
from replication.runs.sweep import run_key
from replication.experiments import (
    average_sensitivity,
    blowup_bound as blowup,
    introduction as demo,
    generalization,
    transformer_model as model_anatomy,
    scratchpad,
    vision_sensitivity as vision,
)
from replication.runs.encoder import sweep as encoder_sweep
from replication.experiments.vision_sensitivity import (
    binary as vision_binary,
    pixel as vision_pixel,
    posthoc as vision_posthoc,
    readings_map as vision_map,
)
from replication.experiments import grokking
from replication.experiments import token_sensitivity as synthetic_runs
from replication.experiments import language_sensitivity as language
from replication.experiments import tradeoff

# A learned function T1 (n = 10) of a committed refit run: its truth table as chapter 07 stores it.
T1_TABLE = (
    "9fdf04adf4f41396e00f1a05d2bf42a4e44f444ab8206430940f46ef42abbbf209bed57845b5577a411c804858ac102cedc878"
    "488499fa2ba309fc89718c37358f44b640b5a05980d00be81553ff2abc04444a4e38201131970b46ea5ea71ba8dfaaeff8b194f1"
    "30c059800d152c0aa7f888c98088803593c8ffc00a80191dde"
)


def _demo():
    c = demo.PRESETS["cpu"]
    return {"train": c.train_config(c.functions[0]), "perturbations": c.perturbations, "inputs": c.inputs}


def _init():
    c = average_sensitivity.PRESETS["cpu"]
    return {"n": c.init_ns[0], "seed": 0, "d": c.d, "layers": c.layers, "heads": c.heads}


def _sweep(runs):
    return run_key(runs[0], "cpu")


def _thm4():
    runs = [r for r in encoder_sweep.run_configs(encoder_sweep.PRESETS["cpu"]) if r.function == "parity"]
    return blowup.Thm4Check(runs[0], 256)


def _refit():
    return run_key(
        generalization.RefitRun(
            n=10,
            target="T1",
            function=1,
            size=512,
            train_set=0,
            table=T1_TABLE,
            sets=((512, 0),),
            seed=1000,
            d=32,
            layers=2,
            heads=2,
            lr=0.003,
            weight_decay=0.1,
            batch_size=1024,
            max_steps=6000,
            eval_every=50,
            fit_mse=0.01,
            rho=0.02,
            n_perturbations=20,
        ),
        "cpu",
    )


PINNED = {
    "demo": (_demo, "3a9c262a45ba72936062"),
    "anatomy_model": (lambda: model_anatomy.PRESETS["cpu"].train_config(), "41da62ee32af63bbb692"),
    "init_sensitivity": (_init, "7be7ae9b6386226cb049"),
    "thm4_inputs": (_thm4, "3241470b529f7477ae78"),
    "sharpness_run": (lambda: _sweep(encoder_sweep.run_configs(encoder_sweep.PRESETS["cpu"])), "77566b94625bbf777d6c"),
    "sharpness_run/long": (
        lambda: _sweep(encoder_sweep.long_run_configs(encoder_sweep.PRESETS["cpu"])),
        "e01f3ee4a50a9e770b8e",
    ),
    "tradeoff_run": (lambda: _sweep(tradeoff.tradeoff_runs(tradeoff.PRESETS["cpu"])), "535b5e78e4a33b69827a"),
    "dynamics_run": (lambda: _sweep(tradeoff.dynamics_runs(tradeoff.PRESETS["cpu"])), "813b250bc15b8acc37b7"),
    "generalization_fit": (
        lambda: _sweep(generalization.fit_runs(generalization.PRESETS["cpu"])),
        "346456197c62d71b3d55",
    ),
    "generalization_refit": (_refit, "0f4a6538847067850ad6"),
    "scratchpad_run": (lambda: _sweep(scratchpad.runs(scratchpad.PRESETS["cpu"])), "7271d9e5bf51c4f3079e"),
    "synthetic_task_run": (lambda: _sweep(synthetic_runs.runs(synthetic_runs.PRESETS["cpu"])), "f54ead40954c4a666af7"),
    "synthetic_task_run/protocol": (
        lambda: _sweep(synthetic_runs.protocol_runs(synthetic_runs.PRESETS["cpu"])),
        "97df85c19d19c4cd8779",
    ),
    "synthetic_task_run/longer": (
        lambda: _sweep(synthetic_runs.check_runs(synthetic_runs.PRESETS["cpu"])),
        "976d32fcede8494a693a",
    ),
    # where the sensitivity and the margin accounts are compared: each model's first run
    "synthetic_task_run/accounts": (
        lambda: _sweep(synthetic_runs.probe_runs(synthetic_runs.PRESETS["cpu"], ("eq3",))),
        "10b14428bd2b2ab765c9",
    ),
    "synthetic_task_run/fixed_readout": (
        lambda: _sweep(synthetic_runs.probe_runs(synthetic_runs.PRESETS["cpu"], ("fixed_readout",))),
        "32475e6cbf8c3cc26e4e",
    ),
    "synthetic_task_run/counts": (
        lambda: _sweep(synthetic_runs.probe_runs(synthetic_runs.PRESETS["cpu"], ("counts",))),
        "cad7df584868f549c97c",
    ),
    "grokking_run": (lambda: _sweep(grokking.grok_runs(grokking.PRESETS["cpu"])), "ee45ab664d1a5a293ce7"),
    # V25's own settings, computed on the CPU (results/paper/)
    "grokking_run/paper": (
        lambda: run_key(grokking.grok_runs(grokking.PRESETS["paper"])[0], "cpu"),
        "52474debbd188f6ee022",
    ),
    "sparse_parity_run": (lambda: _sweep(grokking.parity_runs(grokking.PRESETS["cpu"])), "41d87d6a9611b8e0dd70"),
    # The first cpu setting (20,000 strings, 10,000 steps, n = 40) is the first of the trials: its runs keep their keys.
    "sparse_parity_run/trial_0": (lambda: _sweep(grokking.trial_runs(grokking.PRESETS["cpu"])), "f0972e3eef4fb29cab44"),
    "vision_run": (lambda: _sweep(vision.vision_runs(vision.PRESETS["cpu"])), "b35e9a14c73cd9a7bbf9"),
    "language_run": (lambda: _sweep(language.language_runs(language.PRESETS["cpu"])), "39001e2b8161f244ce74"),
    # The first cpu setting (the sense task) is trial 0 of the chapter's trials: its seed-0 runs keep their keys.
    "language_run/trial_0": (
        lambda: _sweep(language.language_runs(language.trial_configs()[0][1])),
        "946d566b3d4df621a395",
    ),
    "language_run/before_norm": (
        lambda: _sweep(language.before_norm_runs(language.PRESETS["cpu"])),
        "bba88d92a486d3e5ae87",
    ),
    "vision_binary_run": (lambda: _sweep(vision.binary_runs(vision.PRESETS["cpu"])), "9f8124cb0b474ae1f889"),
    "vision_posthoc": (lambda: _sweep(vision.posthoc_runs(vision.PRESETS["cpu"])), "1d31bf8389a333381cfe"),
    "vision_binary_run/no_patch_norm": (
        lambda: _sweep(vision_binary.no_patch_norm_runs(vision.PRESETS["cpu"])),
        "6726c8edb6b5c537d80f",
    ),
    "vision_binary_run/adam": (lambda: _sweep(vision_binary.adam_runs(vision.PRESETS["cpu"])), "845d375293dd12425463"),
    "vision_posthoc/matched": (
        lambda: _sweep(vision_posthoc.matched_posthoc_runs(vision.PRESETS["cpu"])),
        "b43e86f817c73685ff26",
    ),
    "vision_run/fixed": (lambda: _sweep(vision.fixed_runs(vision.PRESETS["cpu"])), "d2e5864f2e657fe450da"),
    "vision_run/released": (
        lambda: _sweep([r for r in vision.fixed_runs(vision.PRESETS["cpu"]) if r.dropout]),
        "f1356197dceaeb4ce02b",
    ),
    "vision_run/pixel": (lambda: _sweep(vision_pixel.pixel_runs(vision.PRESETS["cpu"])), "92bb4c4f8625cddc2ad0"),
    "vision_posthoc/pixel": (
        lambda: _sweep(vision_pixel.pixel_posthoc_runs(vision.PRESETS["cpu"])),
        "5d0cb7ff5ae43a018869",
    ),
    "vision_map": (lambda: _sweep(vision_map.map_runs(vision.PRESETS["cpu"], "binary")), "8973ff4a926265ec09de"),
    "vision_run/map": (lambda: _sweep(vision_map.map_rerun_runs(vision.PRESETS["cpu"])), "4cf1f35bba4bbbd090f5"),
    "grokking_run/trial_0": (lambda: _sweep(grokking.grok_trial_runs(grokking.PRESETS["cpu"])), "d18c248b377fd913d546"),
    "language_run/depth": (lambda: _sweep(language.depth_runs(language.PRESETS["cpu"])), "14464cc9d556e26eadc6"),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_committed_key_is_unchanged(name):
    build, key = PINNED[name]
    kind = name.split("/")[0]
    assert config_key(kind, build()) == key, f"the key of a committed `{kind}` result changed"


def test_every_kind_is_pinned():
    """Every result kind of the chapter registry has a pinned key here (add one when a kind lands)."""
    from replication.runs.chapters import KIND_CHAPTER

    assert set(KIND_CHAPTER) == {name.split("/")[0] for name in PINNED}


#: Modules of ``replication.experiments`` that belong to no chapter (the package and the deviations page).
SHARED = ("__init__.py", "deviations.py")


def chapter_files(root: Path | None = None, chapters=None) -> dict[str, list[Path]]:
    """Every source file of every registered chapter: ``{stem: [path, ...]}``, read from the registry
    (``chapters``, default :data:`~replication.runs.chapters.CHAPTERS`) under ``root`` (default the
    ``replication/experiments`` folder), so a chapter folder without ``__init__.py`` is walked all the same."""
    import replication.experiments
    from replication.runs.chapters import CHAPTERS

    root = Path(replication.experiments.__file__).parent if root is None else root
    out = {}
    for c in CHAPTERS if chapters is None else chapters:
        folder, single = root / c.name, root / f"{c.name}.py"
        assert folder.is_dir() != single.exists(), f"chapter {c.stem}: expected one of {folder} and {single}"
        out[c.stem] = sorted(folder.rglob("*.py")) if folder.is_dir() else [single]
    return out


def _module_name(path: Path) -> str:
    import replication

    parts = list(path.relative_to(Path(replication.__file__).parents[1]).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_chapter_module_declares_only_its_own_kinds():
    """Importing every experiments module, found through the chapter registry, runs each ``kind(...)``
    declaration against the registry; a source file under ``replication/experiments`` that no chapter
    holds (and that is not one of :data:`SHARED`) fails, so no module is skipped."""
    import importlib

    import replication.experiments

    root = Path(replication.experiments.__file__).parent
    reached = {p for files in chapter_files().values() for p in files} | {root / name for name in SHARED}
    for path in sorted(reached):
        importlib.import_module(_module_name(path))
    missed = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if p not in reached)
    assert not missed, f"modules under replication/experiments that no registered chapter holds: {missed}"
    assert len(reached) == len(list(root.rglob("*.py")))


def test_the_walk_reaches_folders_without_an_init(tmp_path):
    """The walk counts files, not packages: a module in a folder without ``__init__.py`` (or nested deeper) is
    found, a one-module chapter is its file, and a chapter with neither fails."""
    from replication.runs.chapters import Chapter

    (tmp_path / "alpha" / "sub").mkdir(parents=True)
    for name in ("alpha/runs.py", "alpha/sub/deep.py", "beta.py"):
        (tmp_path / name).write_text("")
    found = chapter_files(tmp_path, [Chapter("01", "alpha", "HR24"), Chapter("02", "beta", "HR24")])
    assert found == {
        "01_alpha": [tmp_path / "alpha/runs.py", tmp_path / "alpha/sub/deep.py"],
        "02_beta": [tmp_path / "beta.py"],
    }
    with pytest.raises(AssertionError, match="gamma"):
        chapter_files(tmp_path, [Chapter("03", "gamma", "HR24")])
