"""The house rules of the package, checked on its source: layers, module sizes, one registry.

- The core (``tasks``, ``models``, ``measures``, ``train``, ``checks``, ``paths``) imports nothing from
  ``runs``, ``report``, ``experiments`` or ``plots``; ``runs`` and ``report`` never import ``experiments``
  or ``plots``.
- No module of the package holds more than :data:`MAX_STATEMENTS` statements (logical lines, which the formatter
  does not change; the limit was 350 physical lines before ruff's formatter, and the largest module then held 223).
- Every chapter of the registry has its notebook, its experiments module and no number written elsewhere.
"""

from __future__ import annotations

import ast
import tokenize
from pathlib import Path

import pytest

from replication.runs.chapters import CHAPTERS

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "replication"
MAX_STATEMENTS = 240
CORE = ("tasks", "models", "measures", "train", "checks", "paths")
FORBIDDEN = {
    **{c: ("runs", "report", "experiments", "plots") for c in CORE},
    "runs": ("report", "experiments", "plots"),
    "report": ("experiments", "plots"),
}


def _modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def _imported(path: Path) -> set[str]:
    """Top-level folders of ``replication`` that ``path`` imports (absolute or relative)."""
    rel = path.relative_to(PKG).with_suffix("").parts
    here = list(rel[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("replication"):
                base = node.module.split(".")[1:]
            else:
                continue
            out.update([base[0]] if base else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("replication."))
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_layers(path):
    top = path.relative_to(PKG).parts[0].removesuffix(".py")
    bad = _imported(path) & set(FORBIDDEN.get(top, ()))
    assert not bad, f"{path.relative_to(ROOT)} ({top}) imports {sorted(bad)}"


def statements(path: Path) -> int:
    """Logical lines of ``path``: one per simple statement or compound-statement header, however it is wrapped."""
    with path.open("rb") as fh:
        return sum(t.type == tokenize.NEWLINE for t in tokenize.tokenize(fh.readline))


def test_statements_count_logical_lines(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""doc"""\nx = [\n    1,\n    2,\n]\nif x:\n    y = (x\n         + x)\n')
    assert statements(f) == 4


def test_no_module_is_too_long():
    long = {str(p.relative_to(ROOT)): n for p in _modules() if (n := statements(p)) > MAX_STATEMENTS}
    assert not long, f"modules over {MAX_STATEMENTS} statements: {long}"


@pytest.mark.parametrize("ch", CHAPTERS, ids=lambda c: c.stem)
def test_every_chapter_has_its_notebook_and_code(ch):
    assert (ROOT / "notebooks" / f"{ch.stem}.py").exists() and (ROOT / "notebooks" / f"{ch.stem}.ipynb").exists()
    assert (PKG / "experiments" / f"{ch.name}.py").exists() or (PKG / "experiments" / ch.name).is_dir()


def test_the_table_of_contents_lists_the_chapters_in_reading_order():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    found = [line.split("notebooks/")[1].strip() for line in toc.splitlines() if "file: notebooks/" in line]
    chapters = [s for s in found if int(s[:2]) < 90]
    assert chapters == [c.stem for c in CHAPTERS]
    assert "parts:" in toc
