"""Static checks on the chapter notebooks (no execution; `pytest --nbval` executes them).

The py:percent file `notebooks/NN_name.py` is the source; `notebooks/NN_name.ipynb` is its output-free pair,
which papermill, nbval and the book read.
"""

import ast
import json
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))
PAIRED = sorted(NOTEBOOKS.glob("*.ipynb"))
SYNC_HINT = "run `jupytext --sync notebooks/*.py` (edit the .py, then sync)"


def _ids(paths):
    return [p.stem for p in paths]


def _cells(notebook):
    """(cell_type, source) of every cell, with trailing whitespace ignored."""
    return [(c.cell_type, c.source.rstrip()) for c in notebook.cells]


def _parameter_cells(notebook):
    return [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]


def _is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def test_there_are_notebooks():
    assert SOURCES, f"no py:percent sources in {NOTEBOOKS}"


@pytest.mark.parametrize("ipynb", PAIRED, ids=_ids(PAIRED))
def test_every_ipynb_has_a_source(ipynb):
    assert ipynb.with_suffix(".py").exists(), (
        f"{ipynb.name} has no py:percent source {ipynb.with_suffix('.py').name}; "
        f"create it with `jupytext --set-formats ipynb,py:percent {ipynb}`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_pair_in_sync(source):
    ipynb = source.with_suffix(".ipynb")
    assert ipynb.exists(), f"{source.name} has no paired {ipynb.name}: {SYNC_HINT}"
    py_cells = _cells(jupytext.read(source))
    nb_cells = _cells(jupytext.read(ipynb))
    if py_cells == nb_cells:
        return
    if len(py_cells) != len(nb_cells):
        detail = f"{len(py_cells)} cells in the .py, {len(nb_cells)} in the .ipynb"
    else:
        i = next(i for i, (a, b) in enumerate(zip(py_cells, nb_cells)) if a != b)
        detail = f"cell {i} differs:\n--- .py ---\n{py_cells[i][1][:500]}\n--- .ipynb ---\n{nb_cells[i][1][:500]}"
    pytest.fail(f"{source.name} and {ipynb.name} are out of sync ({detail}); {SYNC_HINT}")


@pytest.mark.parametrize("path", SOURCES + PAIRED, ids=[p.name for p in SOURCES + PAIRED])
def test_parameters_cell_is_literal(path):
    cells = _parameter_cells(jupytext.read(path))
    assert len(cells) == 1, (
        f'{path.name} needs exactly one cell tagged `parameters` (`# %% tags=["parameters"]`), found {len(cells)}'
    )
    tree = ast.parse(cells[0].source)
    names = []
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
        target = stmt.target if isinstance(stmt, ast.AnnAssign) else target
        assert isinstance(target, ast.Name) and stmt.value is not None, (
            f"{path.name}: the parameters cell may hold only `name = literal` lines, not `{ast.unparse(stmt)}`"
        )
        assert _is_literal(stmt.value), (
            f"{path.name}: parameter `{target.id}` must be a literal (number, string, None, or a "
            f"list/tuple/dict of them), not `{ast.unparse(stmt.value)}`"
        )
        names.append(target.id)
    assert "scale" in names, f"{path.name}: the parameters cell must define `scale` (use `scale = None`)"


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_no_definitions_in_notebooks(source):
    tree = ast.parse(source.read_text(), filename=str(source))
    defined = [
        f"line {node.lineno}: {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    assert not defined, (
        f"{source.name} defines functions or classes ({'; '.join(defined)}); "
        "move them into the `replication` package and call them from the notebook"
    )


@pytest.mark.parametrize("ipynb", PAIRED, ids=_ids(PAIRED))
def test_ipynb_has_no_outputs(ipynb):
    cells = json.loads(ipynb.read_text())["cells"]
    dirty = [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{ipynb.name} stores outputs or execution counts in cells {dirty}; "
        f"rewrite it from its source with `jupytext --to ipynb {ipynb.with_suffix('.py')}`"
    )
