"""Every claim names the section of its chapter's page that shows its evidence, and that section exists.

The claims table links a claim's text to ``#`` + :func:`~replication.report.anchors.section_id` of the claim's
``section`` (the id Jupyter Book gives that heading). These checks read the chapters' code with :mod:`ast` and the
notebooks' sources as text: nothing is trained or run.

- Every string given as ``section=`` in a page's code (to a claim, a helper that makes claims, or
  ``dataclasses.replace``) is the id of one heading of that page's notebook. A page is a chapter's first page
  (its code: the chapter's module, or the modules at the top of its package) or one of its sections (its code: the
  section's subpackage, whose claims are recorded under the section's page and link to it).
- In the chapters listed in :data:`REQUIRED`, every call that makes a claim (:data:`MAKERS`) passes ``section=``,
  either as a string or as a required parameter of a helper whose own calls must then pass it in turn.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from replication.report.anchors import section_id
from replication.runs.chapters import CHAPTERS, chapter, pages, section

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "replication" / "experiments"
NOTEBOOKS = ROOT / "notebooks"

#: Chapters in which every claim must name its section (chapter 10 records its claims on its section pages, which
#: are all required; a claim may give its section through a dict it spreads, ``CLAIM(**base)``).
REQUIRED = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "11", "12")
#: The same as pages: those chapters' first pages, and the section pages of every chapter.
REQUIRED_PAGES = [c.stem for c in CHAPTERS if c.number in REQUIRED] + [s.stem for c in CHAPTERS for s in c.sections]
#: The calls that make a claim (:mod:`replication.report.claims`).
MAKERS = frozenset({"CLAIM", "CLAIM.untestable", "untestable", "Claim"})
#: A heading of a notebook's markdown cell in its py:percent source, and the levels a claim may link to.
HEADING = re.compile(r"^# (#{1,4}) (.+?)\s*$")
LINKED = (2, 3, 4)


def _stem(key: str) -> str:
    """The page a chapter number ("05") or a page's stem names: the chapter's stem, or the page's own."""
    return chapter(key).stem if key.isdigit() else key


def sources(key: str) -> list[Path]:
    """The page's code: a chapter's module, or every module at the top of its package; a section's subpackage."""
    stem = _stem(key)
    if stem in {c.stem for c in CHAPTERS}:
        ch = chapter(stem)
        package = EXPERIMENTS / ch.name
        return sorted(package.glob("*.py")) if package.is_dir() else [EXPERIMENTS / f"{ch.name}.py"]
    return sorted((EXPERIMENTS / chapter(stem).name / section(stem).name).glob("*.py"))


def headings(key: str) -> list[tuple[int, str]]:
    """(level, text) of every markdown heading in the page's notebook source, as written there."""
    out = []
    for line in (NOTEBOOKS / f"{_stem(key)}.py").read_text().splitlines():
        m = HEADING.match(line)
        if m:
            out.append((len(m.group(1)), m.group(2)))
    return out


def _name(func: ast.expr) -> str:
    """``CLAIM.untestable`` for the callee ``CLAIM.untestable``; "" for a callee that is not a dotted name."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        head = _name(func.value)
        return f"{head}.{func.attr}" if head else ""
    return ""


def _section(call: ast.Call) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == "section"), None)


def _strings(value: ast.expr, consts: dict[str, ast.Constant] | None = None) -> list[ast.Constant]:
    """The string constants a ``section=`` value can take: the value itself, the branches of a conditional, or a
    module-level string constant it names (``consts``)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value]
    if isinstance(value, ast.IfExp):
        return _strings(value.body, consts) + _strings(value.orelse, consts)
    if isinstance(value, ast.Name) and consts and value.id in consts:
        return [consts[value.id]]
    return []


def constants(tree: ast.AST) -> dict[str, ast.Constant]:
    """The module-level string constants of ``tree`` (``SECTION = "..."``)."""
    return {
        t.id: node.value
        for node in getattr(tree, "body", [])
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def section_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string a ``section=`` keyword of any call, or of a ``dict(...)`` built to be passed on
    to one, can pass (:func:`_strings`)."""
    consts = constants(tree)
    return [
        (c.lineno, c.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and (kw := _section(node)) is not None
        for c in _strings(kw.value, consts)
    ]


def _calls(tree: ast.AST) -> list[tuple[ast.Call, ast.FunctionDef | None]]:
    """Every call in ``tree`` with the innermost function definition around it (None at module level)."""
    out = []

    def visit(node: ast.AST, fn: ast.FunctionDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call):
                out.append((child, fn))
            visit(child, child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else fn)

    visit(tree, None)
    return out


def _dict_section(value: ast.expr, tree: ast.AST) -> ast.keyword | None:
    """The ``section=`` of ``dict(..., section=...)``, or of the ``dict(...)`` that a function of the module returns
    where ``value`` calls it (``base = _base(...)``)."""
    if not isinstance(value, ast.Call):
        return None
    if _name(value.func) == "dict":
        return _section(value)
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef) and node.name == _name(value.func):
            returns = [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None]
            found = [_dict_section(r, tree) for r in returns]
            return found[0] if found and all(found) else None
    return None


def _splatted(call: ast.Call, fn: ast.FunctionDef | None, tree: ast.AST) -> ast.keyword | None:
    """The ``section=`` of a ``dict(...)`` that the call passes as ``**name``, where ``name`` is assigned that dict
    in the function around the call (``base = dict(..., section=...)`` or a module function that returns one,
    then ``CLAIM(**base)``)."""
    names = {k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, ast.Name)}
    for node in ast.walk(fn) if fn is not None else ():
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in names for t in node.targets)
            and (kw := _dict_section(node.value, tree)) is not None
        ):
            return kw
    return None


def _required(fn: ast.FunctionDef, param: str) -> bool:
    """Whether ``param`` is a parameter of ``fn`` without a default."""
    a = fn.args
    positional = a.posonlyargs + a.args
    with_default = {p.arg for p in positional[len(positional) - len(a.defaults) :]}
    with_default |= {p.arg for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None}
    return param in {p.arg for p in positional + a.kwonlyargs} - with_default


def missing_sections(trees: dict[str, ast.AST]) -> tuple[list[str], int]:
    """The claim-making calls of a chapter's modules (``path -> tree``) that give no section, and how many
    claim-making calls there are. A function that passes one of its required parameters on as ``section=`` makes
    claims too (a helper such as ``add(..., *, section)``): its own calls are checked in turn, by name, across the
    chapter's modules."""
    makers = set(MAKERS) | {  # a claim factory bound to another name (``claim = claims_for(__name__)``)
        f"{t.id}{suffix}"
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _name(node.value.func) == "claims_for"
        for t in node.targets
        if isinstance(t, ast.Name)
        for suffix in ("", ".untestable")
    }
    while True:
        problems, found, forwarding = [], 0, set()
        for path, tree in trees.items():
            consts = constants(tree)
            for call, fn in _calls(tree):
                if _name(call.func) not in makers:
                    continue
                found += 1
                where = f"{path}:{call.lineno} {_name(call.func)}(...)"
                kw = _section(call) or _splatted(call, fn, tree)
                if kw is None:
                    problems.append(f"{where} gives no section=")
                elif _strings(kw.value, consts):
                    continue
                elif isinstance(kw.value, ast.Name) and fn is not None and _required(fn, kw.value.id):
                    forwarding.add(fn.name)
                else:
                    problems.append(
                        f"{where}: section= must be a string, or a required parameter of the function around the "
                        "call (whose own calls then give the string)"
                    )
        if forwarding <= makers:
            return problems, found
        makers |= forwarding


def _trees(number: str) -> dict[str, ast.AST]:
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text(), filename=str(p)) for p in sources(number)}


@pytest.mark.parametrize("number", pages())
def test_every_section_is_a_heading_of_its_notebook(number):
    heads = headings(number)
    ids = [section_id(text) for _, text in heads]
    linked = {section_id(text) for level, text in heads if level in LINKED}
    given = [(path, line, s) for path, tree in _trees(number).items() for line, s in section_strings(tree)]
    bad = [
        f"{path}:{line}: {s!r} (id {section_id(s)!r})"
        for path, line, s in given
        if section_id(s) not in linked or ids.count(section_id(s)) > 1
    ]
    assert not bad, (
        f"sections of page {number} that are not one ##/###/#### heading of its notebook:\n"
        + "\n".join(bad)
        + "\nheadings: "
        + ", ".join(repr(t) for level, t in heads if level in LINKED)
    )
    if number in REQUIRED_PAGES:
        assert given, f"page {number} gives no section to any claim"


@pytest.mark.parametrize("number", REQUIRED_PAGES)
def test_every_claim_names_its_section(number):
    problems, calls = missing_sections(_trees(number))
    assert calls, f"no claim-making call found in page {number}'s code: {[str(p) for p in sources(number)]}"
    assert not problems, "claims without a section:\n" + "\n".join(problems)


def test_the_check_finds_a_claim_without_a_section():
    src = """
CLAIM = claims_for(__name__)

def claims(cfg):
    out = []

    def add(claim, holds, *, section=""):
        out.append(CLAIM(claim, "ref", "v", "m", holds, cfg.scale, kind="paper", section=section))

    def put(claim, *, section):
        out.append(CLAIM.untestable(claim, "ref", "v", cfg.scale, "why", kind="paper", section=section))

    add("a", True)
    put("b", section="Heading")
    put("c")
    return out + [CLAIM("d", "ref", "v", "m", True, "ci", kind="paper"), untestable("ch", "ci", "e", section="H")]
"""
    problems, calls = missing_sections({"m.py": ast.parse(src)})
    assert calls == 6  # add's CLAIM, put's CLAIM.untestable, put(...) twice, the CLAIM and untestable at the end
    assert [p.split(" ", 1)[0] for p in problems] == ["m.py:8", "m.py:15", "m.py:16"], problems
    assert "gives no section=" in problems[1] and "required parameter" in problems[0]


def test_a_section_given_through_a_dict_that_the_claim_spreads_counts():
    src = """
SECTION = "Heading"

def _base(c):
    return dict(section=SECTION, claim=c)

def claims(cfg):
    base = dict(section="Other", claim="a")
    plain = dict(claim="b")
    named = _base("c")
    return [CLAIM(**base, holds=True), CLAIM(**plain, holds=True), CLAIM(**named, holds=False)]
"""
    problems, calls = missing_sections({"m.py": ast.parse(src)})
    assert calls == 3 and [p.split(" ", 1)[0] for p in problems] == ["m.py:11"], problems


def test_a_claim_factory_under_another_name_makes_claims_too():
    src = """
def claims(cfg):
    claim = claims_for(__name__)
    return [claim(holds=True), claim.untestable(why="w", section="Heading")]
"""
    problems, calls = missing_sections({"m.py": ast.parse(src)})
    assert calls == 2 and [p.split(" ", 1)[0] for p in problems] == ["m.py:4"], problems
