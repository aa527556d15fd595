"""The pinned dependency lists in pyproject.toml and environment.yml must agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _normalise(requirement: str) -> tuple[str, str]:
    """Return (normalised name with sorted extras, pinned version) for ``name[extras]==version``."""
    match = re.fullmatch(r"\s*([A-Za-z0-9._-]+)\s*(\[[^\]]*\])?\s*==\s*([^\s;]+)\s*", requirement)
    assert match, f"not an exact pin (name==version): {requirement!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    extras = match.group(2)
    if extras:
        parts = sorted(re.sub(r"[-_.]+", "-", e.strip()).lower() for e in extras[1:-1].split(","))
        name += "[" + ",".join(parts) + "]"
    return name, match.group(3)


def _pyproject_pins() -> set[tuple[str, str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {_normalise(r) for r in data["project"]["dependencies"]}


def _environment_pins() -> set[tuple[str, str]]:
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in data["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one `pip:` section"
    return {_normalise(r) for r in pip_sections[0]}


def test_environment_python_is_311():
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in data["dependencies"]


def test_pins_agree():
    pyproject, environment = _pyproject_pins(), _environment_pins()
    assert pyproject == environment, (
        "pyproject.toml and environment.yml pin different packages:\n"
        f"  only in pyproject.toml:  {sorted(pyproject - environment)}\n"
        f"  only in environment.yml: {sorted(environment - pyproject)}"
    )


def test_no_duplicate_names():
    names = [name for name, _ in _pyproject_pins()]
    assert len(names) == len(set(names)), f"a package is pinned twice: {sorted(names)}"
