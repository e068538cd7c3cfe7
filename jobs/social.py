"""Social posts in the archive: what a social source's poll found, and re-checking one post.

Taking a poll's posts (:class:`PostEnroller`, which hands every other source kind to the plain
:class:`~jobs.enrol.Enroller`)::

    each post (an ``api`` observation)
      -> Document: kind "post", its platform, its public web URL
      -> a Mastodon post whose ``edited_at`` moved since we last saw it: its edit history first,
         every version in order, so edits made between two polls are all kept
      -> record_observation: a new version when the content changed (with its diff summary);
         engagement counts always go to Measurement rows, never into a version
      -> matched on its text against the stories: StoryDocument (via "source")
      -> its links, once the post is linked to a story (and is new, edited or newly matched):
         candidates of that story (via "social", from the post), fetched and matched on full text
    posts of the source inside the poll's time window that the poll no longer shows
      -> re-checked through their platform (recheck_post)

Re-checking one post (:func:`recheck_post`; ``jobs.pipeline.check_document`` sends posts here)::

    its platform's answer (scraper.sources.social.read_post)
      gone (404/410, not found in a thread, "[deleted]") -> a miss; the 2nd miss in a row: tombstone
      present                                            -> versions as above
      failure (network, rate limit, odd answer)          -> a Check with the error, nothing else

A post that comes back after its tombstone gets a new version and is active (or seen) again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from jobs.capture import CheckReport, in_writer, record, record_observation
from jobs.discovery import DEFAULT_MAX_LINKS, StoryRule, candidate_text
from jobs.enrol import Enroller, Found, matcher
from jobs.logs import get_logger
from jobs.services import Services
from scraper.core.matching import prepare_candidate
from scraper.core.types import Candidate, Channel, CheckOutcome, Observation
from scraper.core.versioning import FetchFailed, Gone, Unchanged
from scraper.sources import SourceError
from scraper.sources.social import SOCIAL_KINDS, PostRef, PostState, read_history, read_post
from storage import discovery as disc
from storage import documents as docs
from storage.models import Document, Source
from storage.versions import Capture

log = get_logger(__name__)
API = Channel.API.value
MAX_RECHECKS = 20  # posts missing from one poll that are re-checked at once
REPOST_KEYS = ("boosted_by", "reposted_by")


# --- taking a poll's posts ------------------------------------------------------------------------


class PostEnroller(Enroller):
    """An Enroller that takes a social source's posts (module docstring); other kinds as usual."""

    async def take(
        self,
        candidates: Sequence[Candidate],
        observations: Sequence[Observation],
        *,
        source_id: int | None,
        archive_all: bool = False,
    ) -> None:
        source = self._social_source(source_id)
        if source is None:
            await super().take(candidates, observations, source_id=source_id, archive_all=archive_all)
            return
        posts = _first_per_url(observations)
        links = links_by_post(candidates)
        for post in posts:
            await self.take_post(source, post, links.get(post.url, []), archive_all=archive_all)
        await self.recheck_missing(source, posts)

    def _social_source(self, source_id: int | None) -> Source | None:
        if source_id is None:
            return None
        with self.svc.session() as session:
            source = session.get(Source, source_id)
        return source if source is not None and source.kind in SOCIAL_KINDS else None

    async def take_post(
        self, source: Source, post: Observation, links: list[Candidate], *, archive_all: bool
    ) -> None:
        """Archive one post, match it, and enrol its links for the stories it belongs to."""
        doc_id, created = self.post_document(post.url, source)
        report = await self.record(source, post, doc_id)
        if post.gone:
            return
        text = prepare_candidate(post.content.title, None, post.content.text)
        new = self.link(doc_id, matcher(text, "post text"), Found("source", source_id=source.id))
        if not self._stories_of(doc_id):
            self._unmatched(doc_id, created, archive_all)
            return
        if new or report.outcome == CheckOutcome.NEW_VERSION:
            await self.enrol_links(doc_id, links, source)

    def post_document(self, url: str, source: Source) -> tuple[int, bool]:
        with self.svc.session() as session:
            doc, created = ensure_post(
                session, url=url, platform=source.kind, now=self.svc.clock(), source=source
            )
            session.commit()
        assert doc.id is not None
        self.tally.new += int(created)
        return doc.id, created

    async def record(self, source: Source, post: Observation, doc_id: int) -> CheckReport:
        """Version the post (after its missed Mastodon edits); its re-check schedule moves only
        when it is followed (active)."""
        ref = post_ref(post.url, source.kind, post, source)
        history, problem = await history_for(self.svc, ref, post, doc_id)
        if problem:
            self.tally.errors += 1
            self.tally.failures.append(problem)
        report = await store_post(self.svc, doc_id, [*history, post], keep_schedule=True)
        self.tally.edited += int(report.outcome == CheckOutcome.NEW_VERSION and (report.seq or 0) > 1)
        return report

    def _stories_of(self, doc_id: int) -> list[int]:
        with self.svc.session() as session:
            return list(disc.linked_stories(session, document_ids=[doc_id]).get(doc_id, {}))

    def _unmatched(self, doc_id: int, created: bool, archive_all: bool) -> None:
        if not archive_all:
            self.tally.seen += int(created)
            return
        with self.svc.session() as session:
            doc = session.get(Document, doc_id)
            assert doc is not None
            disc.activate(session, document=doc, now=self.svc.clock())
            session.commit()

    async def enrol_links(self, post_id: int, links: list[Candidate], source: Source) -> None:
        """The post's links as candidates of its stories: matched on their link card, fetched,
        then matched on their full text; what matches nothing stays "seen"."""
        found = Found("social", source_id=source.id, from_document_id=post_id)
        targets: list[tuple[int, list[int]]] = []
        for link in links[: max_links(self.rules)]:
            doc_id, _ = self.document(link.url, None)
            if doc_id != post_id:
                card = candidate_text(link.title, link.summary, link.url)
                targets.append((doc_id, self.link(doc_id, matcher(card, "link card"), found)))
        await self.fetch_new([doc_id for doc_id, _ in targets], activate=False)
        for doc_id, stories in targets:
            await self.settle(doc_id, found, stories)
            self._unfollowed(doc_id)

    async def recheck_missing(self, source: Source, posts: Sequence[Observation]) -> None:
        """Posts of this source from the poll's time span that it no longer shows: ask the platform."""
        since = window_start(posts)
        if since is None or source.id is None:
            return
        with self.svc.session() as session:
            missing = posts_since(session, source_id=source.id, since=since, exclude={p.url for p in posts})
        for doc_id in missing[:MAX_RECHECKS]:
            report = await recheck_post(self.svc, doc_id)
            log.info("missing post re-checked", extra={"url": report.url, "outcome": report.outcome.value})


def ensure_post(
    session: Session, *, url: str, platform: str, now: datetime, source: Source | None = None
) -> tuple[Document, bool]:
    """The post document for ``url`` (new ones "seen"), marked kind "post" of ``platform``."""
    return disc.ensure_post(
        session, url=url, platform=platform, now=now, source_id=source.id if source else None
    )


def links_by_post(candidates: Sequence[Candidate]) -> dict[str, list[Candidate]]:
    """Link candidates grouped by the post that carries them (``raw["post_url"]``)."""
    found: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        post_url = candidate.raw.get("post_url")
        if isinstance(post_url, str) and not candidate.raw.get("post"):
            found.setdefault(post_url, []).append(candidate)
    return found


def max_links(rules: Sequence[StoryRule]) -> int:
    return max((rule.max_links for rule in rules), default=DEFAULT_MAX_LINKS)


def window_start(posts: Sequence[Observation]) -> datetime | None:
    """The oldest publication time among the poll's own posts (reposts of old posts left out)."""
    times = [
        p.content.published
        for p in posts
        if p.content.published is not None and not any(p.content.metadata.get(k) for k in REPOST_KEYS)
    ]
    return min(times) if times else None


def posts_since(session: Session, *, source_id: int, since: datetime, exclude: set[str]) -> list[int]:
    """Posts first seen by ``source_id``, published at or after ``since``, not gone, not in ``exclude``;
    the newest first."""
    return disc.posts_since(session, source_id=source_id, since=since, exclude=exclude)


def _first_per_url(observations: Sequence[Observation]) -> list[Observation]:
    firsts: dict[str, Observation] = {}
    for observation in observations:
        firsts.setdefault(observation.url, observation)
    return list(firsts.values())


# --- storing what a post shows --------------------------------------------------------------------


async def store_post(
    svc: Services, document_id: int, observations: Sequence[Observation], *, keep_schedule: bool = False
) -> CheckReport:
    """Record the observations in order (history first, the current post last). A post seen again
    is no longer missing, and a gone post that shows up again is revived. ``keep_schedule``: the
    re-check schedule of a post that is not followed (not active) is left as it was."""
    before = await in_writer(lambda: _schedule(svc, document_id)) if keep_schedule else None
    reports = [
        await record_observation(svc, observation, document_id=document_id) for observation in observations
    ]
    revive = bool(observations) and not observations[-1].gone
    await in_writer(lambda: _settle(svc, document_id, before, revive))
    return _overall(reports)


def _schedule(svc: Services, document_id: int) -> disc.Schedule | None:
    with svc.session() as session:
        return disc.schedule_for(session, document_id=document_id)


def _settle(svc: Services, document_id: int, before: disc.Schedule | None, revive: bool) -> None:
    with svc.session() as session:
        disc.settle_post(session, document_id=document_id, schedule=before, revive=revive)
        session.commit()


def _overall(reports: list[CheckReport]) -> CheckReport:
    """The last report that made a version, else the last report."""
    made = [r for r in reports if r.outcome == CheckOutcome.NEW_VERSION]
    return made[-1] if made else reports[-1]


async def history_for(
    svc: Services, ref: PostRef, post: Observation, document_id: int
) -> tuple[list[Observation], str | None]:
    """A Mastodon post's edit history when its ``edited_at`` differs from the stored version's
    (else nothing); on failure, nothing and the reason (the current text is still recorded)."""
    if ref.platform != "mastodon" or post.content.modified is None:
        return [], None
    with svc.session() as session:
        latest = docs.latest_version(session, document_id=document_id, channel=API)
        if latest is not None and latest.modified == post.content.modified:
            return [], None
    try:
        return await read_history(svc.fetcher, ref, post), None
    except SourceError as exc:
        return [], f"{exc} (edit history not read; the current text is kept)"


# --- re-checking one post -------------------------------------------------------------------------


def post_ref(url: str, platform: str, post: Observation | None, source: Source | None) -> PostRef:
    """How to ask the platform about the post at ``url`` (ids from the post's metadata)."""
    metadata = post.content.metadata if post is not None else {}
    return _ref(url, platform, metadata, source)


def _ref(url: str, platform: str, metadata: dict[str, object], source: Source | None) -> PostRef:
    key = {"mastodon": "id", "bluesky": "uri"}.get(platform)
    post_id = metadata.get(key) if key else None
    same_platform = source is not None and source.kind == platform
    api = (source.params or {}).get("api") if source is not None and same_platform else None
    return PostRef(
        url=url,
        platform=platform,
        post_id=str(post_id) if post_id else None,
        source_url=source.url if source is not None and same_platform else None,
        api=str(api) if api else None,
    )


def _stored_ref(svc: Services, document_id: int) -> PostRef:
    with svc.session() as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise docs.NotFoundError(f"document {document_id} does not exist")
        latest = docs.latest_version(session, document_id=document_id, channel=API)
        source = session.get(Source, doc.source_id) if doc.source_id else None
        platform = doc.platform or (source.kind if source is not None else "")
        return _ref(doc.url, platform, dict(latest.meta or {}) if latest else {}, source)


async def recheck_post(svc: Services, document_id: int) -> CheckReport:
    """Ask the post's platform whether it changed or is gone, and record the answer."""
    started = time.perf_counter()
    ref = _stored_ref(svc, document_id)
    try:
        state = await read_post(svc.fetcher, ref)
        report = await _record_state(svc, document_id, ref, state)
    except SourceError as exc:
        report = await _record_error(svc, document_id, ref, str(exc))
    svc.metrics.observe_fetch(report.outcome.value, time.perf_counter() - started)
    return report


async def _record_state(svc: Services, document_id: int, ref: PostRef, state: PostState) -> CheckReport:
    if state.gone:
        return await _record_gone(svc, document_id, state)
    if state.observation is None:
        return await _record_present(svc, document_id, state)
    history, problem = await history_for(svc, ref, state.observation, document_id)
    report = await store_post(svc, document_id, [*history, state.observation])
    report.http_status = state.status
    if problem:
        report.details["warning"] = problem
    return report


async def _record_gone(svc: Services, document_id: int, state: PostState) -> CheckReport:
    report = await record(svc, document_id, Channel.API, Gone())
    report.http_status = state.status
    return report


async def _record_present(svc: Services, document_id: int, state: PostState) -> CheckReport:
    """The platform says the post is still there but shows nothing to compare (YouTube oEmbed)."""
    capture = Capture(http_status=state.status, fetched=True)
    check = {"http_status": state.status, "url": state.url}
    return await record(svc, document_id, Channel.API, Unchanged(), check=check, capture=capture)


async def _record_error(svc: Services, document_id: int, ref: PostRef, message: str) -> CheckReport:
    report = await record(svc, document_id, Channel.API, FetchFailed(message))
    report.url, report.error = ref.url, message
    svc.metrics.error("social")
    log.warning("post re-check failed", extra={"url": ref.url, "error": message})
    return report


__all__ = [
    "MAX_RECHECKS",
    "PostEnroller",
    "ensure_post",
    "history_for",
    "links_by_post",
    "post_ref",
    "posts_since",
    "recheck_post",
    "store_post",
    "window_start",
]
