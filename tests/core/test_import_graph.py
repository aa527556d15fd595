"""No import circles in the package: its import graph, built from the source with ``ast``, has no cycle.

Every ``import`` and ``from ... import`` counts wherever it stands: at module level, inside a function, under
``if TYPE_CHECKING`` (a lazy import only hides a circle until someone moves it up). Relative and absolute
imports of ``replication`` resolve to the module they load; ``from . import x`` names the submodule ``x``
where one exists, else the package. Imports by string (``importlib.import_module``) are not followed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Circles known and allowed for now, by name: each must still exist (the test below fails once it is gone, so the
#: entry is removed with it). Chapter 12's modules import each other through the notebook's re-exports.
KNOWN_CYCLES: dict[str, frozenset[str]] = {}


def modules(folder: Path, package: str) -> dict[str, Path]:
    """``{dotted name: file}`` of every module under ``folder`` (the package ``package``)."""
    out = {}
    for path in sorted(folder.rglob("*.py")):
        parts = [package, *path.relative_to(folder).with_suffix("").parts]
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: set[str], package: str) -> set[str]:
    """The modules of ``known`` that the module ``name`` (file ``path``) imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == package)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(here) - 1:
                    raise ValueError(f"{path}: relative import beyond the top of {package!r} (line {node.lineno})")
                base = here[: len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == package:
                base = node.module.split(".")
            else:
                continue
            base_name = ".".join(base)
            for alias in node.names:
                sub = f"{base_name}.{alias.name}"
                out.add(sub if sub in known else base_name)
    return {m for m in out if m in known and m != name}


def graph(folder: Path, package: str) -> dict[str, set[str]]:
    """The import graph of the package ``package`` at ``folder``: module -> the modules it imports."""
    mods = modules(folder, package)
    return {name: imports(name, path, set(mods), package) for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[frozenset[str]]:
    """The import circles of ``g``: its strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def _package_graph() -> dict[str, set[str]]:
    return graph(ROOT / "replication", "replication")


def test_the_package_has_no_import_circle():
    found = [sorted(c) for c in cycles(_package_graph()) if c not in KNOWN_CYCLES.values()]
    assert not found, f"import circles: {found}"


@pytest.mark.parametrize("name", sorted(KNOWN_CYCLES) or [pytest.param(None, marks=pytest.mark.skip("none allowed"))])
def test_each_known_circle_still_exists(name):
    """An allowed circle that is gone must leave :data:`KNOWN_CYCLES` too, so the list never outlives it."""
    assert KNOWN_CYCLES[name] in cycles(_package_graph()), f"{name!r} is gone: remove it from KNOWN_CYCLES"


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_planted_circle_through_a_function_and_a_submodule_is_found(tmp_path):
    """``a`` imports ``b`` at the top; ``b`` imports ``c`` by ``from . import``; ``c`` imports ``a`` only inside a
    function, absolutely: one circle of three. ``d`` imports them all and is in none."""
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import x\n",
            "b.py": "from . import c\nx = 1\n",
            "c.py": "def f():\n    import pkg.a\n    return pkg.a\n",
            "d.py": "from pkg import a, b\nfrom .c import f\n",
        },
    )
    g = graph(root, "pkg")
    assert g["pkg.b"] == {"pkg.c"} and g["pkg.c"] == {"pkg.a"} and g["pkg.d"] == {"pkg.a", "pkg.b", "pkg.c"}
    assert cycles(g) == [frozenset({"pkg.a", "pkg.b", "pkg.c"})]


def test_a_planted_circle_across_subpackages_and_type_checking_is_found(tmp_path):
    """``..`` climbs out of a subpackage; an import under ``if TYPE_CHECKING`` counts; a name of a package's
    ``__init__`` (not a submodule) points at the package."""
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "from .inner import y\n",
            "sub/inner.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..top import z\ny = 1\n",
            "top.py": "from .sub import y\nz = 2\n",
        },
    )
    g = graph(root, "pkg")
    assert g["pkg.top"] == {"pkg.sub"} and g["pkg.sub.inner"] == {"pkg.top"}
    assert cycles(g) == [frozenset({"pkg.sub", "pkg.sub.inner", "pkg.top"})]


def test_no_circle_without_a_back_edge(tmp_path):
    root = _plant(tmp_path, {"__init__.py": "from . import a\n", "a.py": "from . import b\n", "b.py": "import os\n"})
    assert cycles(graph(root, "pkg")) == []
