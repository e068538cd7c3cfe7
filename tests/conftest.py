"""Shared fixtures: a real local HTTP server, databases (SQLite always, PostgreSQL when
STORYTRAIL_TEST_DATABASE_URL is set), and the shared test corpus (skipped where absent)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localserver import LocalServer

ROOT = Path(__file__).resolve().parent.parent


def corpus_root() -> Path | None:
    env = os.environ.get("STORYTRAIL_CORPUS")
    path = Path(env) if env else ROOT.parent / "shared" / "corpus"
    return path if path.is_dir() else None


@pytest.fixture
def corpus() -> Path:
    root = corpus_root()
    if root is None:
        pytest.skip("shared test corpus not found (set STORYTRAIL_CORPUS or check out ../shared/corpus)")
    return root


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer().start()
    yield srv
    srv.stop()


def _pg_base() -> str | None:
    return os.environ.get("STORYTRAIL_TEST_DATABASE_URL") or None


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if _pg_base() else ["sqlite"]


def pg_schema_url(base: str, schema: str) -> str:
    """The same PostgreSQL database, with ``schema`` first on the search path."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once per backend. Tables are not created: see ``db``."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    import sqlalchemy as sa

    base = _pg_base()
    assert base
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(_sa_url(base))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield pg_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _sa_url(url: str) -> str:
    from storage.db import sqlalchemy_url

    return sqlalchemy_url(url)


@pytest.fixture
def allow_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYTRAIL_ALLOW_HOSTS", "127.0.0.1,localhost")


class _Template:
    """The database at migration head, made once per test process and copied for every test:
    SQLite copies the migrated file; PostgreSQL replays, in the test's own schema, the statements
    that ``alembic upgrade head`` ran once in a template schema (names are unqualified, so they
    land on the search path). Both are exact copies of what the migrations make, at a fraction of
    the time of running Alembic per test."""

    def __init__(self) -> None:
        self.sqlite_file: Path | None = None
        self.pg_statements: list[tuple[str, object]] | None = None

    def sqlite(self, tmp_root: Path) -> Path:
        if self.sqlite_file is None:
            from storage.db import make_engine
            from storage.migrate import upgrade

            path = tmp_root / "template.db"
            eng = make_engine(f"sqlite:///{path}")
            upgrade(eng)
            eng.dispose()
            self.sqlite_file = path
        return self.sqlite_file

    def postgresql(self, base: str) -> list[tuple[str, object]]:
        if self.pg_statements is None:
            import sqlalchemy as sa

            from storage.db import make_engine
            from storage.migrate import upgrade

            schema = "tmpl_" + uuid.uuid4().hex[:12]
            admin = sa.create_engine(_sa_url(base))
            with admin.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            statements: list[tuple[str, object]] = []
            eng = make_engine(pg_schema_url(base, schema))

            def capture(conn, cursor, statement, parameters, context, executemany):
                statements.append((statement, parameters))

            sa.event.listen(eng, "before_cursor_execute", capture)
            try:
                upgrade(eng)
            finally:
                eng.dispose()
                with admin.begin() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
            self.pg_statements = statements
        return self.pg_statements


_TEMPLATE = _Template()


@pytest.fixture
def engine(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A migrated database engine (a copy of the database at migration head), once per backend."""
    import shutil

    import sqlalchemy as sa

    from storage.db import make_engine

    url = sa.make_url(_sa_url(db_url))
    if url.get_backend_name() == "sqlite":
        assert url.database
        shutil.copyfile(_TEMPLATE.sqlite(tmp_path_factory.getbasetemp()), url.database)
        eng = make_engine(db_url)
    else:
        base = _pg_base()
        assert base
        statements = _TEMPLATE.postgresql(base)
        eng = make_engine(db_url)
        with eng.begin() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cursor:
                for statement, parameters in statements:
                    cursor.execute(statement, parameters or None)
    yield eng
    eng.dispose()


class FakeClock:
    """A settable, advancing UTC clock for tests."""

    def __init__(self, start: str = "2025-12-29T19:00:00+00:00") -> None:
        from datetime import datetime

        self.now = datetime.fromisoformat(start)

    def __call__(self):
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_settings(db_url: str, **overrides: object):
    from jobs.settings import Settings

    values = {
        "database_url": db_url,
        "allow_hosts": ["127.0.0.1", "localhost"],
        "per_host_delay": 0.0,
        "retries": 0,
        "retry_backoff": 0.0,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
        "extract_workers": 0,
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture
async def services(engine: object, db_url: str, clock: FakeClock):
    from jobs.services import open_services

    async with open_services(make_settings(db_url), engine=engine, clock=clock, extract_workers=0) as svc:  # type: ignore[arg-type]
        yield svc


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Stable test ids for binary parameters (a gzip body carries its mtime): xdist workers must
    collect the same ids."""
    if isinstance(val, bytes) and (len(val) > 24 or not val.isascii()):
        return f"{argname}-{len(val)}B"
    return None
