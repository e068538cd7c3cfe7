"""Only storage reads or writes tables (DESIGN.md, layout): a checked contract.

Walks the syntax trees of jobs/ and api/ and fails on ``select(...)``; on ``.exec``, ``.execute``,
``.add``, ``.add_all``, ``.delete``, ``.merge`` or ``.flush`` called on a session; and on an
attribute written on a table-model row (a name bound by ``session.get(Model, ...)`` or annotated
with a table model). Rows built only to be rendered (never added to a session) are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)

ROOT = Path(__file__).resolve().parent.parent
SESSION_CALLS = {"exec", "execute", "add", "add_all", "delete", "merge", "flush"}
SESSION_NAMES = {"session", "s", "db", "conn", "connection"}
MODELS = {mapper.class_.__name__ for mapper in SQLModel._sa_registry.mappers}  # type: ignore[attr-defined]


def _files() -> list[Path]:
    return sorted([*(ROOT / "jobs").rglob("*.py"), *(ROOT / "api").rglob("*.py")])


def _annotation_models(node: ast.expr | None) -> bool:
    if node is None:
        return False
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    names |= {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return bool(names & MODELS)


def _rows(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names in ``func`` that hold a table-model row."""
    rows = {a.arg for a in [*func.args.args, *func.args.kwonlyargs] if _annotation_models(a.annotation)}
    for node in ast.walk(func):
        annotated = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        if annotated and _annotation_models(node.annotation):  # type: ignore[union-attr]
            rows.add(node.target.id)  # type: ignore[union-attr]
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Attribute) and call.func.attr == "get" and call.args:
                first = call.args[0]
                if isinstance(first, ast.Name) and first.id in MODELS:
                    rows |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return rows


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found = []
        for target in node.targets:
            found += target.elts if isinstance(target, ast.Tuple) else [target]
        return found
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def violations(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    where = path.relative_to(root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "select":
                found.append(f"{where}:{node.lineno}: {func.id}(...)")
            on_session = isinstance(func, ast.Attribute) and func.attr in SESSION_CALLS
            if on_session and isinstance(func.value, ast.Name) and func.value.id in SESSION_NAMES:  # type: ignore[union-attr]
                found.append(f"{where}:{node.lineno}: {func.value.id}.{func.attr}(...)")  # type: ignore[union-attr]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            rows = _rows(node)
            for inner in ast.walk(node):
                for target in _targets(inner):
                    row = isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    if row and target.value.id in rows:  # type: ignore[attr-defined]
                        found.append(f"{where}:{inner.lineno}: writes {target.value.id}.{target.attr}")  # type: ignore[attr-defined]
    return found


def test_the_contract_sees_what_it_forbids(tmp_path):
    sample = tmp_path / "probe.py"
    sample.write_text(
        "def f(session, doc_id: int) -> None:\n"
        "    doc = session.get(Document, doc_id)\n"
        "    doc.status = 'gone'\n"
        "    session.add(doc)\n"
        "    session.exec(select(Version))\n"
        "def g(latest: Version) -> None:\n"
        "    latest.last_confirmed_at = None\n"
    )
    found = violations(sample, root=tmp_path)
    expected = ["session.add(...)", "session.exec(...)", "select(...)", "writes doc.status"]
    assert sorted(v.split(": ", 1)[1] for v in found) == sorted(
        [*expected, "writes latest.last_confirmed_at"]
    )


def test_only_storage_reads_and_writes_tables():
    found = [v for path in _files() for v in violations(path)]
    assert found == [], "table access outside storage:\n" + "\n".join(found)


def test_the_api_schema_names_the_event_tables_kinds() -> None:
    """api.schemas spells the kinds as a Literal for OpenAPI; it must stay the one list's copy."""
    from typing import get_args

    from api.schemas import EventKindName
    from scraper.core.notify import EVENT_KINDS
    from storage.timeline import EVENT_KINDS as TIMELINE_KINDS

    assert get_args(EventKindName) == EVENT_KINDS == TIMELINE_KINDS
