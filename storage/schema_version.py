"""Is the database at the newest schema? Answered without loading Alembic (a start-up cost).

Every command asks this before it reads; Alembic (storage.migrate) is loaded only when the answer
is no, or when the migration files are not one plain chain (then this says "don't know": None).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r"""^revision(?:\s*:\s*[\w\[\]| ]+)?\s*=\s*['"]([^'"]+)['"]""", re.M)
_DOWN = re.compile(r"""^down_revision(?:\s*:\s*[\w\[\]| ]+)?\s*=\s*(?:['"]([^'"]+)['"]|None)""", re.M)


def head_from_files(folder: Path = VERSIONS) -> str | None:
    """The head of a linear migration chain, read from the files; None when it is not one chain."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for file in folder.glob("*.py"):
        text = file.read_text(encoding="utf-8")
        rev, down = _REVISION.search(text), _DOWN.search(text)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    """True when the database's alembic_version is the head of the migration files."""
    import sqlalchemy as sa

    head = head_from_files()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return False
        raise
    except sa.exc.ProgrammingError:  # PostgreSQL: no alembic_version table yet
        return False
    return list(rows) == [head]
