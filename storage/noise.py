"""Noise rules learnt per site: the history they are learnt from, the proposals, accepting them.

A site is a host name without ``www.`` (:func:`storage.timeline.outlet`). Accepting a rule adds
it to the ignore rules of every document of the site (``Document.settings["ignore"]``) and of
every source whose URL is on the site (``Source.ignore_patterns``, so documents found later get
it too): from then on the capture path removes it before hashing, like any ignore rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from scraper.core.noise import Proposal, Snapshot
from storage.documents import NotFoundError
from storage.models import Document, NoiseRule, Source, Version
from storage.timeline import outlet


def site_documents(session: Session, *, site: str) -> list[Document]:
    """Documents whose URL is on ``site`` (host, ``www.`` ignored), by id."""
    host = site.lower().removeprefix("www.")
    candidates = session.exec(
        select(Document).where(col(Document.url).contains(host)).order_by(col(Document.id))
    )
    return [doc for doc in candidates if outlet(doc.url) == host]


def site_histories(session: Session, *, site: str) -> dict[str, list[Snapshot]]:
    """Each page's page-channel versions (not tombstones) on ``site``: URL -> snapshots, oldest first."""
    docs = {doc.id: doc.url for doc in site_documents(session, site=site)}
    if not docs:
        return {}
    rows = session.exec(
        select(Version.document_id, Version.observed_at, Version.text)
        .where(
            col(Version.document_id).in_(list(docs)), Version.channel == "page", Version.kind != "tombstone"
        )
        .order_by(col(Version.document_id), col(Version.seq))
    )
    histories: dict[str, list[Snapshot]] = {}
    for document_id, observed_at, text in rows:
        histories.setdefault(docs[document_id], []).append(Snapshot(observed_at, text))
    return histories


def store_proposals(
    session: Session, *, site: str, proposals: Sequence[Proposal], now: datetime
) -> list[NoiseRule]:
    """Record (or refresh) the proposals for ``site``; accepted rules keep their status."""
    host = site.lower().removeprefix("www.")
    known = {r.rule: r for r in list_rules(session, site=host)}
    for p in proposals:
        row = known.get(p.rule) or NoiseRule(site=host, rule=p.rule, scope=p.scope, proposed_at=now)
        row.scope, row.pages, row.changes, row.false_versions = p.scope, p.pages, p.changes, p.false_versions
        row.examples, row.reason = list(p.examples), p.reason
        session.add(row)
        known[p.rule] = row
    session.flush()
    return list_rules(session, site=host)


def list_rules(session: Session, *, site: str) -> list[NoiseRule]:
    host = site.lower().removeprefix("www.")
    return list(session.exec(select(NoiseRule).where(NoiseRule.site == host).order_by(col(NoiseRule.id))))


def accept_rules(session: Session, *, site: str, rule: str | None, now: datetime) -> list[NoiseRule]:
    """Accept one rule (its id or its text) or, with ``rule=None``, every proposed one; add them to
    the site's documents' and sources' ignore rules. :class:`NotFoundError` when there is none."""
    rules = _chosen(list_rules(session, site=site), rule, site)
    for row in rules:
        row.status, row.accepted_at = "accepted", row.accepted_at or now
        session.add(row)
    patterns = [row.rule for row in rules]
    for doc in site_documents(session, site=site):
        settings = dict(doc.settings or {})
        settings["ignore"] = _merged(settings.get("ignore", []), patterns)
        doc.settings = settings
        session.add(doc)
    for source in session.exec(select(Source)):
        if outlet(source.url) == site.lower().removeprefix("www."):
            source.ignore_patterns = _merged(source.ignore_patterns, patterns)
            session.add(source)
    session.flush()
    return rules


def _chosen(rows: list[NoiseRule], rule: str | None, site: str) -> list[NoiseRule]:
    if rule is None:
        found = [r for r in rows if r.status == "proposed"]
        if not found:
            raise NotFoundError(
                f"no proposed noise rule for {site}: run `storytrail noise show {site}` first"
            )
        return found
    found = [r for r in rows if (rule.isdigit() and r.id == int(rule)) or r.rule == rule]
    if not found:
        raise NotFoundError(f"no noise rule {rule!r} for {site} (see `storytrail noise show {site}`)")
    return found


def _merged(existing: Sequence[str], added: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*existing, *added]))
