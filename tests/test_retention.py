"""Retention: old unchanged checks are pruned (by the leader daemon when a retention is set);
versions, and checks that made one or failed, are kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from jobs.daemon import Daemon, DaemonOptions
from storage import documents as docs
from storage.models import Check, Version
from storage.retention import prune_checks


def _archive(engine, now) -> dict[str, int]:
    """One document, one version; checks 40 and 5 days old of every outcome."""
    with Session(engine) as s:
        doc, _ = docs.get_or_create_document(s, url="https://news.example/a", now=now - timedelta(days=50))
        first = now - timedelta(days=50)
        v = docs.add_version(s, document_id=doc.id, channel="page", seq=1, observed_at=first,
                             last_confirmed_at=now, content_hash="h", title="t", text="x")  # fmt: skip
        for age in (40, 5):
            for outcome in ("unchanged", "not_modified", "error", "gone", "new_version"):
                s.add(Check(document_id=doc.id, at=now - timedelta(days=age), outcome=outcome,
                            version_id=v.id if outcome == "new_version" else None))  # fmt: skip
        s.commit()
        return {"document": doc.id, "version": v.id}


def _left(engine) -> list[tuple[int, str]]:
    with Session(engine) as s:
        rows = s.exec(select(Check.at, Check.outcome)).all()
    newest = max(at for at, _ in rows)
    return sorted(((newest - at).days, outcome) for at, outcome in rows)


def test_prune_keeps_versions_and_every_check_that_matters(engine, clock):
    _archive(engine, clock())
    with Session(engine) as s:
        assert prune_checks(s, before=clock() - timedelta(days=30), batch=1) == 2
        assert prune_checks(s, before=clock() - timedelta(days=30)) == 0  # nothing left to do
        assert len(s.exec(select(Version)).all()) == 1
        with pytest.raises(ValueError, match="batch"):
            prune_checks(s, before=clock(), batch=0)
    assert _left(engine) == [
        (0, o) for o in ("error", "gone", "new_version", "not_modified", "unchanged")
    ] + [(35, o) for o in ("error", "gone", "new_version")]


async def test_the_leader_prunes_when_a_retention_is_set(services, engine, clock):
    _archive(engine, clock())
    daemon = Daemon(services, DaemonOptions(health_port=None, check_retention=timedelta(days=30)))
    await daemon.refresh_statistics()  # not the leader: nothing pruned
    with Session(engine) as s:
        assert len(s.exec(select(Check)).all()) == 10
    daemon.is_leader = True
    await daemon.refresh_statistics()
    with Session(engine) as s:
        assert len(s.exec(select(Check)).all()) == 8
    with pytest.raises(ValueError, match="at least a day"):
        DaemonOptions(check_retention=timedelta(hours=1))
