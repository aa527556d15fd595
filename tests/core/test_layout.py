"""The house rules of the package, checked on its source: layers, module sizes, one registry.

- The core (``tasks``, ``models``, ``measures``, ``train``, ``checks``, ``paths``) imports nothing from
  ``runs``, ``report``, ``experiments`` or ``plots``; ``runs`` and ``report`` never import ``experiments``
  or ``plots``.
- No module of the package holds more than :data:`MAX_STATEMENTS` statements (logical lines, which the formatter
  does not change; the limit was 350 physical lines before ruff's formatter, and the largest module then held 223).
- Every chapter of the registry has its notebook, its experiments module and no number written elsewhere: no
  module of the package or of ``scripts/`` but ``runs/chapters.py`` writes a chapter number as an id (a string
  ``"05"``, a stem ``"05_sharpness"``, ``chapter(5)``, a shell script's ``CHAPTER=05``); prose that names a
  chapter ("chapter 05's runs") is not an id.
"""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

import pytest

from replication.runs.chapters import CHAPTERS, pages

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
    for s in ch.sections:  # a section: its own notebook, and a subpackage of the chapter's package
        assert (ROOT / "notebooks" / f"{s.stem}.py").exists() and (ROOT / "notebooks" / f"{s.stem}.ipynb").exists()
        assert (PKG / "experiments" / ch.name / s.name / "__init__.py").exists(), f"{s.stem}: no subpackage {s.name}"


def test_the_table_of_contents_lists_the_chapters_in_reading_order():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    found = [line.split("notebooks/")[1].strip() for line in toc.splitlines() if "file: notebooks/" in line]
    chapters = [s for s in found if int(s[:2]) < 90]
    assert chapters == pages()
    assert "parts:" in toc
    indent = {
        line.split("notebooks/")[1].strip(): len(line) - len(line.lstrip())
        for line in toc.splitlines()
        if "file: notebooks/" in line
    }
    for ch in CHAPTERS:  # a section is listed under its chapter (Jupyter Book's ``sections:``), not beside it
        assert all(indent[s.stem] > indent[ch.stem] for s in ch.sections), f"{ch.stem}: sections not nested"


REGISTRY = PKG / "runs" / "chapters.py"
NUMBERS = {c.number for c in CHAPTERS}
STEMS = {c.stem for c in CHAPTERS}
#: A shell script's chapter number assigned to, defaulted for or compared with a CHAPTER variable.
SHELL_ID = re.compile(r"""CHAPTER\w*\}?"?\s*(?:=|==|:-)\s*"?(\d\d)\b""")


def chapter_ids(path: Path) -> list[str]:
    """``line: text`` of every chapter number that ``path`` writes as an id (see the module's docstring)."""
    if path.suffix == ".sh":
        lines = path.read_text().splitlines()
        return [
            f"{i}: {m.group(0)}"
            for i, line in enumerate(lines, 1)
            if not line.lstrip().startswith("#")
            for m in SHELL_ID.finditer(line)
            if m.group(1) in NUMBERS
        ]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            v = node.value
            if v in NUMBERS or v.split(".")[0] in STEMS:
                out.append(f"{node.lineno}: {v!r}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "chapter":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and f"{arg.value}".zfill(2) in NUMBERS:
                    out.append(f"{node.lineno}: chapter({arg.value!r})")
    return out


def _sources() -> list[Path]:
    scripts = sorted((ROOT / "scripts").glob("*.py")) + sorted((ROOT / "scripts").glob("*.sh"))
    return [p for p in _modules() + scripts if p != REGISTRY]


def test_the_scanner_finds_a_planted_chapter_number(tmp_path):
    planted = tmp_path / "m.py"
    planted.write_text(
        '''"""Chapter 05's runs (prose: not an id)."""\nA = {"05": 1}\nB = "12_grokking.ipynb"\nC = chapter(5)\n'''
        """D = ch.chapter("11")\nE = f"chapter {x} of 12"\n"""
    )
    assert sorted({int(f.split(":")[0]) for f in chapter_ids(planted)}) == [2, 3, 4, 5]
    sh = tmp_path / "s.sh"
    sh.write_text("""# CHAPTER=05 in a comment\nCHAPTER=${CHAPTER:-05}\n[ "$CHAPTER" = 12 ] && echo\nN=16\n""")
    assert sorted({int(f.split(":")[0]) for f in chapter_ids(sh)}) == [2, 3]
    assert chapter_ids(REGISTRY), "the registry itself writes every number"


def test_no_chapter_number_is_written_outside_the_registry():
    found = {str(p.relative_to(ROOT)): ids for p in _sources() if (ids := chapter_ids(p))}
    assert not found, f"chapter numbers written outside replication/runs/chapters.py: {found}"


@pytest.mark.parametrize("ch", [c for c in CHAPTERS if c.sections], ids=lambda c: c.stem)
def test_a_chapters_first_page_links_each_section_under_its_registered_title(ch):
    """Each section's page is titled ``# <number> <title>`` as the registry names it, says which chapter it is part
    of, and the chapter's first page links it under that title (its table of what each section answers)."""
    first = (ROOT / "notebooks" / f"{ch.stem}.py").read_text()
    for s in ch.sections:
        page = (ROOT / "notebooks" / f"{s.stem}.py").read_text()
        titles = [line[4:] for line in page.splitlines() if line.startswith("# # ")]
        assert titles == [f"{s.number} {s.title}"], f"{s.stem}: titled {titles}"
        assert f"{{doc}}`{ch.stem}`" in page, f"{s.stem} does not link its chapter's first page"
        assert f"{{doc}}`{s.number} {s.title} <{s.stem}>`" in first, f"{ch.stem} does not link {s.stem}"
