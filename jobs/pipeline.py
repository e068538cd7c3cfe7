"""Checking a URL now: enrol it (its document, optionally a story link), then capture it.

The capture itself (fetch, extract, plan, apply) is :mod:`jobs.capture`; the names it exports
are re-exported here for the callers that know this module.
"""

from __future__ import annotations

from jobs.capture import CheckReport, check_document, record_observation, reextract_document
from jobs.services import Services
from scraper.core.types import CheckOutcome
from scraper.core.urls import canonicalize
from storage import discovery as disc

__all__ = ["CheckReport", "check_document", "check_url", "record_observation", "reextract_document"]


async def check_url(
    svc: Services,
    url: str,
    *,
    story_slug: str | None = None,
    via: str = "manual",
    source_id: int | None = None,
) -> CheckReport:
    """Enrol ``url`` (creating its document) and check it now."""
    canonical = canonicalize(url)
    refused = await svc.fetcher.refusal(canonical)
    if refused is not None:  # no document for a URL that can never be fetched
        svc.metrics.error(type(refused).__name__)
        return CheckReport(url=canonical, outcome=CheckOutcome.ERROR, error=str(refused))
    now = svc.clock()
    with svc.session() as session:
        document_id = disc.enrol_url(
            session, url=canonical, now=now, story_slug=story_slug, via=via, source_id=source_id
        )
        session.commit()
    return await check_document(svc, document_id)
