"""From candidates to archived coverage: documents, story links, first fetches, link following,
canonical URLs and near duplicates.

For each candidate a poll found::

    Document (canonical URL; new ones are "seen")  <- feed entry observed: a feed version
      -> matched on title and summary against every active story
         matched:   StoryDocument (score, reason, via) -> first fetch now -> re-check schedule
         unmatched: stays "seen" (no fetch, no next_check) unless the source archives "all"
    after a first fetch:
      canonical URL declared by the page   -> the document's URL (same site), or a duplicate of
                                              the document that already has that URL
      full text matched against the stories it is not linked to yet
      near-duplicate page text             -> Document.duplicate_of (not independent coverage)
      outgoing article links               -> candidates of the story to its link_depth,
                                              fetched, then matched on their full text
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import Session

from jobs.capture import CheckReport, check_document, record_observation
from jobs.discovery import StoryRule, candidate_text, document_match_text, seed_urls
from jobs.services import Services
from scraper.core.links import canonical_from_html, looks_like_article, outgoing_links
from scraper.core.matching import CandidateText, Match, features, similarity
from scraper.core.types import Candidate, Channel, CheckOutcome, Observation
from scraper.core.urls import InvalidURL, canonicalize
from storage import catalog
from storage import discovery as disc
from storage import documents as docs
from storage.models import Document

# Near copies (syndication): page fingerprints (Document.simhash) within DUPLICATE_MAX_DISTANCE
# bits find the candidates (unrelated texts are 21+ bits apart, scraper/core/fingerprint.py; a
# wire story under another headline with a dateline and a credit line added is 8 apart), then
# the texts' word-feature similarity confirms (such a copy: 0.89; two articles on one story: 0.14).
MIN_DUPLICATE_WORDS = 40  # shorter texts are nobody's copy
DUPLICATE_MAX_DISTANCE = 12
DUPLICATE_SIMILARITY = 0.8
Decide = Callable[[StoryRule], Match]


def matcher(text: CandidateText, on: str) -> Decide:
    """Match ``text`` against a story rule; ``on`` says what the text is, for the reason."""

    def decide(rule: StoryRule) -> Match:
        return rule.match(text, on=on)

    return decide


@dataclass(frozen=True, slots=True)
class Found:
    """How a document reached a story (StoryDocument.via, source_id, from_document_id, depth)."""

    via: str = "source"
    source_id: int | None = None
    from_document_id: int | None = None
    depth: int = 0


@dataclass(frozen=True, slots=True)
class MatchNote:
    """One document attached to one story, for reports."""

    story: str
    url: str
    score: float
    reason: str
    via: str
    depth: int


@dataclass
class Tally:
    """What enrolment did during one poll."""

    new: int = 0  # documents first seen
    matched: int = 0  # story links made
    fetched: int = 0  # first fetches made
    seen: int = 0  # new candidates kept as "seen" (not fetched)
    edited: int = 0  # feed entries whose feed version changed
    followed: int = 0  # outgoing links looked at
    duplicates: int = 0  # documents marked as near copies
    errors: int = 0  # first fetches that failed
    matches: list[MatchNote] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Enroller:
    """Applies the story rules of one poll to candidates and documents (module docstring)."""

    def __init__(self, svc: Services, rules: Sequence[StoryRule], tally: Tally | None = None) -> None:
        self.svc = svc
        self.rules = list(rules)
        self.tally = tally or Tally()
        self._fetched: set[int] = set()
        # first fetches are held under this lease from the moment a document becomes due
        self._owner = f"enrol:{socket.gethostname()}:{os.getpid()}"

    # --- candidates from a source --------------------------------------------------------------

    async def take(
        self,
        candidates: Sequence[Candidate],
        observations: Sequence[Observation],
        *,
        source_id: int | None,
        archive_all: bool = False,
    ) -> None:
        """Enrol what one poll found (module docstring).

        An observation of a URL no candidate names (a social post) is a candidate of its own:
        its title and text are what it is matched on, and its document is a ``post`` when it
        came through the ``api`` channel.
        """
        observed = {o.url: o for o in reversed(observations)}
        linked_now: dict[int, list[int]] = {}
        archive: list[int] = []
        how: dict[int, Found] = {}
        for candidate in _first_per_url([*candidates, *_posts(observations)]):
            observation = observed.get(candidate.url)
            if observation is not None and observation.gone and not self._known(candidate.url):
                continue  # a post gone before it was ever seen: nothing to record
            kind = "post" if observation is not None and observation.channel == Channel.API else "article"
            doc_id, created = self.document(candidate.url, source_id, kind=kind, guid=_guid(observation))
            if observation is not None:
                await self.observe(observation, doc_id)
            text = candidate_text(candidate.title, candidate.summary, candidate.url)
            found = how.setdefault(doc_id, Found(candidate.via, source_id=source_id))
            stories = self.link(doc_id, matcher(text, "title and summary"), found)
            if stories:
                linked_now[doc_id] = stories
            elif archive_all:
                archive.append(doc_id)
            elif created:
                self.tally.seen += 1
        fetched = await self.fetch_new([*linked_now, *archive])
        for doc_id in dict.fromkeys([*linked_now, *fetched]):  # what was just linked or just fetched
            await self.settle(doc_id, how[doc_id], linked_now.get(doc_id, []))

    def _known(self, url: str) -> bool:
        with self.svc.session() as session:
            return docs.find_document(session, url=url) is not None

    def document(
        self,
        url: str,
        source_id: int | None,
        *,
        status: str = "seen",
        kind: str = "article",
        guid: str | None = None,
    ) -> tuple[int, bool]:
        """The document for ``url`` (a feed entry's ``guid`` finds it under an earlier link)."""
        with self.svc.session() as session:
            doc, created = disc.ensure_entry_document(
                session,
                url=url,
                guid=guid,
                now=self.svc.clock(),
                source_id=source_id,
                status=status,
                kind=kind,
            )
            session.commit()
        assert doc.id is not None
        self.tally.new += int(created)
        return doc.id, created

    async def observe(self, observation: Observation, document_id: int) -> None:
        """Version what the feed shows for the document, without moving its page re-checks."""
        with self.svc.session() as session:
            before = disc.schedule_for(session, document_id=document_id)
            assert before is not None
        report = await record_observation(self.svc, observation, document_id=document_id)
        edited = report.outcome == CheckOutcome.NEW_VERSION and (report.seq or 0) > 1
        self.tally.edited += int(edited)
        with self.svc.session() as session:  # a feed edit hints the page changed: check it soon
            disc.restore_schedule(
                session, document_id=document_id, schedule=before, due=self.svc.clock() if edited else None
            )
            session.commit()

    # --- story links ---------------------------------------------------------------------------

    def link(self, document_id: int, decide: Decide, found: Found) -> list[int]:
        """Match the document against each story it is not linked to; link it where it matches."""
        matches = {r.story_id: m for r in self.rules if _within_depth(r, found) and (m := decide(r)).matched}
        if not matches:  # the common case: no story, no database work
            return []
        with self.svc.session() as session:
            linked = disc.linked_stories(session, document_ids=[document_id]).get(document_id, {})
            doc = session.get(Document, document_id)
            assert doc is not None
            made = [r for r in self.rules if r.story_id in matches and r.story_id not in linked]
            for rule in made:
                self._attach(session, doc, rule, matches[rule.story_id], found)
            session.commit()
        return [rule.story_id for rule in made]

    def _attach(self, session: Session, doc: Document, rule: StoryRule, match: Match, found: Found) -> None:
        assert doc.id is not None
        catalog.link_story_document(
            session,
            story_id=rule.story_id,
            document_id=doc.id,
            now=self.svc.clock(),
            score=round(match.score, 4),
            reason=match.reason,
            via=found.via,
            source_id=found.source_id,
            from_document_id=found.from_document_id,
            depth=found.depth,
        )
        disc.activate(session, document=doc, now=self.svc.clock())
        if doc.kind != "post" and not disc.has_page_version(session, document_id=doc.id):
            self._hold(session, doc)  # fetch_new fetches it: no other node should too
        self.tally.matched += 1
        self.tally.matches.append(
            MatchNote(rule.slug, doc.url, match.score, match.reason, found.via, found.depth)
        )

    # --- fetching ------------------------------------------------------------------------------

    def _hold(self, session: Session, doc: Document) -> None:
        lease = timedelta(seconds=self.svc.settings.lease_seconds)
        disc.hold_for_first_fetch(session, document=doc, owner=self._owner, now=self.svc.clock(), lease=lease)

    async def fetch_new(
        self, document_ids: Iterable[int], *, activate: bool = True
    ) -> dict[int, CheckReport]:
        """First fetch of each document without a page version (at once, concurrently)."""
        with self.svc.session() as session:
            ids = [i for i in dict.fromkeys(document_ids) if i not in self._fetched]
            have = disc.page_version_ids(session, document_ids=ids) | disc.posts(session, document_ids=ids)
            todo = [i for i in ids if i not in have]  # posts are read through their source, not fetched
            for doc_id in todo if activate else ():
                doc = session.get(Document, doc_id)
                assert doc is not None
                disc.activate(session, document=doc, now=self.svc.clock())
                self._hold(session, doc)
            session.commit()
        self._fetched.update(todo)
        reports = await check_documents(self.svc, todo)
        _count(self.tally, reports)
        return dict(zip(todo, reports, strict=True))

    # --- after a fetch -------------------------------------------------------------------------

    async def settle(self, document_id: int, found: Found, stories: Sequence[int] = ()) -> None:
        """Canonical URL, full-text matching, near duplicates and link following for a document
        that was just fetched or just linked (``stories``: the stories it was just linked to)."""
        document_id = self.identify(document_id)
        text = self._text(document_id) if self.rules else None  # no story to match: no text read
        new = list(stories)
        if text is not None:
            new += self.link(document_id, matcher(text, "full text"), found)
        if new:
            self.dedupe(document_id)
        for story_id in new:
            await self.follow(document_id, story_id, found.depth)

    def _text(self, document_id: int) -> CandidateText | None:
        with self.svc.session() as session:
            return document_match_text(session, document_id=document_id)

    def identify(self, document_id: int) -> int:
        """Apply the canonical URL the page declares; the id of the document that holds it."""
        with self.svc.session() as session:
            doc = session.get(Document, document_id)
            assert doc is not None
            declared = self._declared(session, doc)
            if declared is None or declared == doc.url or not looks_like_article(declared):
                return document_id  # a canonical URL that is no article is a template mistake
            owner = docs.find_document(session, url=declared)
            if owner is None or owner.id == doc.id:
                if _same_site(declared, doc.url):
                    disc.promote_url(session, document=doc, url=declared)
                    session.commit()
                return document_id
            owner_id = self._merge(session, doc, owner)
            session.commit()
            return owner_id

    def _declared(self, session: Session, doc: Document) -> str | None:
        assert doc.id is not None
        latest = docs.latest_version(session, document_id=doc.id, channel="page")
        if latest is None or latest.kind == "tombstone":
            return None
        if latest.canonical_url:
            try:
                found = canonicalize(latest.canonical_url)
            except InvalidURL:
                return None
            return None if _is_home(found, doc.url) else found
        raw = disc.latest_raw(session, document_id=doc.id)
        return canonical_from_html(raw, doc.url) if raw else None

    def _merge(self, session: Session, copy: Document, owner: Document) -> int:
        """``copy`` is another address of ``owner``'s article: its story links move to ``owner``."""
        assert copy.id is not None and owner.id is not None
        for story_id, link in disc.linked_stories(session, document_ids=[copy.id]).get(copy.id, {}).items():
            catalog.link_story_document(
                session,
                story_id=story_id,
                document_id=owner.id,
                now=self.svc.clock(),
                score=link.score,
                reason=f"{link.reason} (as {copy.url})",
                via=link.via,
                source_id=link.source_id,
                from_document_id=link.from_document_id,
                depth=link.depth,
            )
        disc.set_duplicate(session, document=copy, of=owner)
        disc.mark_seen(session, document=copy)
        disc.activate(session, document=owner, now=self.svc.clock())
        self.tally.duplicates += 1
        return owner.id

    def dedupe(self, document_id: int) -> None:
        """Mark the document a near copy of an earlier document of its stories (syndication)."""
        with self.svc.session() as session:
            doc = session.get(Document, document_id)
            mine = disc.document_text(session, document_id=document_id)
            if doc is None or doc.duplicate_of is not None or mine is None:
                return
            if len(mine[2].split()) < MIN_DUPLICATE_WORDS:
                return
            stories = disc.linked_stories(session, document_ids=[document_id]).get(document_id, {})
            near = disc.near_duplicates(
                session, document=doc, story_ids=stories, max_distance=DUPLICATE_MAX_DISTANCE
            )
            original = next((other for other in near if _same_text(session, mine[2], other)), None)
            if original is not None:
                disc.set_duplicate(session, document=doc, of=original)
                self.tally.duplicates += 1
            session.commit()

    # --- link following ------------------------------------------------------------------------

    async def follow(self, document_id: int, story_id: int, depth: int) -> None:
        """Outgoing article links of a story's document become candidates, one level deeper."""
        rule = next((r for r in self.rules if r.story_id == story_id), None)
        if rule is None or depth >= rule.link_depth:
            return
        targets = self._link_targets(document_id, rule)
        self.tally.followed += len(targets)
        await self.fetch_new(targets, activate=False)
        found = Found("link", from_document_id=document_id, depth=depth + 1)
        for target in targets:
            text = self._text(target)
            stories = self.link(target, matcher(text, "full text"), found) if text else []
            if not stories:
                self._unfollowed(target)
                continue
            self.dedupe(target)
            for sid in stories:
                await self.follow(target, sid, depth + 1)

    def _link_targets(self, document_id: int, rule: StoryRule) -> list[int]:
        with self.svc.session() as session:
            doc = session.get(Document, document_id)
            raw = disc.latest_raw(session, document_id=document_id)
            if doc is None or raw is None:
                return []
            own = {doc.url, *docs.aliases(session, document_id=document_id)}
            urls = [u for u in outgoing_links(raw, doc.url) if u not in own and looks_like_article(u)]
        targets: list[int] = []
        for url in urls[: rule.max_links]:
            target, _ = self.document(url, None)
            with self.svc.session() as session:
                linked = disc.linked_stories(session, document_ids=[target]).get(target, {})
            if target != document_id and rule.story_id not in linked and target not in targets:
                targets.append(target)
        return targets

    def _unfollowed(self, document_id: int) -> None:
        """A followed link that matched no story: known, not re-checked (unless enrolled already)."""
        with self.svc.session() as session:
            doc = session.get(Document, document_id)
            linked = disc.linked_stories(session, document_ids=[document_id]).get(document_id)
            if doc is not None and not linked and doc.status == "seen":
                disc.mark_seen(session, document=doc)
                session.commit()


# --- seeds ------------------------------------------------------------------------------------


async def fetch_seeds(
    svc: Services, *, story_ids: Sequence[int] | None = None, tally: Tally | None = None
) -> list[tuple[int, int]]:
    """Link each active story's seed URLs to it (via "seed") and fetch those never checked
    (counted in ``tally``).

    Returns (document id, story id) of the seeds fetched now: their links are followed once the
    story rules are compiled (:meth:`Enroller.settle`).
    """
    now = svc.clock()
    todo: list[tuple[int, int]] = []
    with svc.session() as session:
        for story in disc.active_stories(session, now=now):
            if story_ids is not None and story.id not in story_ids:
                continue
            assert story.id is not None
            for url in seed_urls(story):
                doc, _ = docs.get_or_create_document(session, url=url, now=now, status="active")
                assert doc.id is not None
                disc.activate(session, document=doc, now=now)
                catalog.link_story_document(
                    session,
                    story_id=story.id,
                    document_id=doc.id,
                    now=now,
                    score=1.0,
                    reason="seed URL of the story",
                    via="seed",
                )
                if not disc.has_page_version(session, document_id=doc.id) and not disc.checked_ever(
                    session, document_id=doc.id
                ):
                    todo.append((doc.id, story.id))
        session.commit()
    reports = await check_documents(svc, list(dict.fromkeys(d for d, _ in todo)))
    _count(tally or Tally(), reports)
    return todo


async def check_documents(svc: Services, document_ids: Sequence[int]) -> list[CheckReport]:
    """First checks of many documents, at most ``global_concurrency`` at a time from fetch to
    write: a page fetched faster than the extraction workers can take it waits in memory, and
    without a bound a poll of 300 local pages held 125 of them (35 MB) in the main process."""
    slots = asyncio.Semaphore(svc.settings.global_concurrency)

    async def check(document_id: int) -> CheckReport:
        async with slots:
            return await check_document(svc, document_id)

    return list(await asyncio.gather(*(check(document_id) for document_id in document_ids)))


def _count(tally: Tally, reports: Sequence[CheckReport]) -> None:
    """First fetches made, and those that failed."""
    for report in reports:
        tally.fetched += 1
        if report.outcome in (CheckOutcome.ERROR, CheckOutcome.ROBOTS_DENIED):
            tally.errors += 1
            tally.failures.append(report.error or f"{report.url}: {report.outcome.value}")


def _same_text(session: Session, text: str, other: Document) -> bool:
    assert other.id is not None
    theirs = disc.document_text(session, document_id=other.id)
    return theirs is not None and similarity(features(text), features(theirs[2])) >= DUPLICATE_SIMILARITY


def _posts(observations: Sequence[Observation]) -> list[Candidate]:
    """Observations as candidates (matched on their title and text), for those no candidate names."""
    return [
        Candidate(url=o.url, title=o.content.title, summary=o.content.text or o.content.description,
                  via="social" if o.channel == Channel.API else "source")
        for o in observations
    ]  # fmt: skip


def _guid(observation: Observation | None) -> str | None:
    """A feed entry's stable id (RSS guid, Atom id): its identity across link changes."""
    if observation is None or observation.channel != Channel.FEED:
        return None
    guid = observation.content.metadata.get("id")
    return str(guid) if guid else None


def _within_depth(rule: StoryRule, found: Found) -> bool:
    """A document found by following links counts for a story only within its link depth."""
    return found.via != "link" or found.depth <= rule.link_depth


def _first_per_url(candidates: Sequence[Candidate]) -> list[Candidate]:
    firsts: dict[str, Candidate] = {}
    for candidate in candidates:
        firsts.setdefault(candidate.url, candidate)
    return list(firsts.values())


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _same_site(a: str, b: str) -> bool:
    return _host(a) == _host(b)


def _is_home(url: str, page_url: str) -> bool:
    return urlsplit(url).path in ("", "/") and urlsplit(page_url).path not in ("", "/")
