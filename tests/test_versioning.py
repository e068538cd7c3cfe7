"""scraper.core.versioning: decide and plan, pure (no database, no network, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.core.fingerprint import content_hash
from scraper.core.normalize import normalize_content
from scraper.core.types import Channel, CheckOutcome, Content, VersionKind
from scraper.core.versioning import (
    Action,
    Confirm,
    EventKind,
    ExtractionFailed,
    Failure,
    FetchFailed,
    Gone,
    History,
    Miss,
    NewVersion,
    Prior,
    Seen,
    Suspect,
    Tombstone,
    Unchanged,
    decide,
    garbled_text,
    plan,
    plan_events,
)

NOW = datetime(2025, 12, 30, 12, tzinfo=UTC)
BODY = "Russia said Ukraine fired 91 drones at the residence. Kyiv called it a fabrication. " * 4


def content(title: str = "Kremlin claims attack", text: str = BODY) -> Content:
    """Normalized, as every Seen observation is."""
    return normalize_content(Content(title=title, text=text))


class Channel1:
    """A channel's history kept the way storage keeps it: only what plan() needs."""

    def __init__(self) -> None:
        self.versions: list[Prior] = []
        self.contents: dict[int, Content] = {}
        self.raw: dict[int, int | None] = {}
        self.missing = 0

    def history(self) -> History:
        latest = self.versions[-1] if self.versions else None
        compared_seq = None
        if latest is not None:
            compared_seq = latest.seq
            if latest.kind == VersionKind.TOMBSTONE:
                compared_seq = next(
                    (p.seq for p in reversed(self.versions) if p.kind != VersionKind.TOMBSTONE), None
                )
        return History(
            versions=tuple(self.versions),
            compared=self.contents.get(compared_seq) if compared_seq else None,
            compared_seq=compared_seq,
            compared_raw_size=self.raw.get(compared_seq) if compared_seq else None,
            missing_count=self.missing,
        )

    def apply(self, observation: object) -> object:
        planned = plan(self.history(), observation, NOW)  # type: ignore[arg-type]
        match planned:
            case NewVersion():
                self.versions.append(Prior(planned.seq, planned.content_hash, planned.kind))
                self.contents[planned.seq] = planned.content
                self.raw[planned.seq] = getattr(observation, "raw_size", None)
                self.missing = 0
            case Tombstone():
                self.versions.append(Prior(planned.seq, "tombstone", VersionKind.TOMBSTONE))
                self.missing = planned.missing_count
            case Miss():
                self.missing = planned.missing_count
            case Confirm():
                self.missing = 0
        return planned


# --- decide -------------------------------------------------------------------------------------


def test_decide_semantics():
    assert decide([], "a") == decide([], "a", reextracted=True)
    assert decide([], "a").seq == 1
    history = [Prior(1, "a", VersionKind.NORMAL), Prior(2, "b", VersionKind.NORMAL)]
    assert decide(history, "b").action == Action.UNCHANGED
    revert = decide(history, "a")
    assert (revert.action, revert.kind, revert.revert_of, revert.seq) == (
        Action.REVERT,
        VersionKind.REVERT,
        1,
        3,
    )
    assert decide(history, "c").action == Action.NEW
    assert decide(history, "a", reextracted=True).kind == VersionKind.REEXTRACTED
    gone = [*history, Prior(3, "tombstone", VersionKind.TOMBSTONE)]
    restored = decide(gone, "b")
    assert (restored.action, restored.revert_of, restored.seq) == (Action.RESTORED, 2, 4)


# --- plan, one branch at a time ---------------------------------------------------------------


def test_first_version_has_no_diff_and_one_event():
    planned = plan(History(), Seen(content(), raw_size=5000), NOW)
    assert isinstance(planned, NewVersion) and planned.first and planned.seq == 1
    assert planned.text == "first version" and "stats" not in planned.summary
    assert [e.kind for e in plan_events(planned, Channel.PAGE)] == [EventKind.FIRST_VERSION]


def test_change_carries_summary_significance_and_headline():
    channel = Channel1()
    channel.apply(Seen(content(), raw_size=5000))
    planned = channel.apply(Seen(content(title="Kremlin revises stance"), raw_size=5000))
    assert isinstance(planned, NewVersion) and planned.seq == 2 and planned.compared_seq == 1
    assert "headline" in planned.text and planned.significance > 0
    events = plan_events(planned, Channel.FEED)
    assert [e.kind for e in events] == [EventKind.CHANGE, EventKind.HEADLINE]
    assert events[1].data == {"old_title": "Kremlin claims attack", "new_title": "Kremlin revises stance"}
    assert events[0].summary.endswith("(feed)") and events[0].prev_seq == 1


def test_equal_content_confirms():
    channel = Channel1()
    channel.apply(Seen(content(), raw_size=5000))
    planned = channel.apply(Seen(content(), raw_size=5100))
    assert planned == Confirm(CheckOutcome.UNCHANGED, 1)
    assert plan_events(planned, Channel.PAGE) == []  # type: ignore[arg-type]


def test_revert_and_its_event():
    channel = Channel1()
    for title in ("A", "B"):
        channel.apply(Seen(content(title=title)))
    planned = channel.apply(Seen(content(title="A")))
    assert isinstance(planned, NewVersion)
    assert (planned.kind, planned.revert_of, planned.text) == (VersionKind.REVERT, 1, "reverted to version 1")
    assert plan_events(planned, Channel.PAGE)[0].kind == EventKind.REVERTED


def test_tombstone_on_second_miss_then_restore():
    channel = Channel1()
    channel.apply(Seen(content(), raw_size=5000))
    assert channel.apply(Gone(404)) == Miss(1, 404)
    tomb = channel.apply(Gone(404))
    assert isinstance(tomb, Tombstone) and (tomb.seq, tomb.last_seq) == (2, 1)
    assert [e.kind for e in plan_events(tomb, Channel.PAGE)] == [EventKind.DELETED]
    assert isinstance(channel.apply(Gone(404)), Miss)  # no second tombstone
    back = channel.apply(Seen(content(), raw_size=5000))
    assert (
        isinstance(back, NewVersion) and back.restored and back.seq == 3 and back.kind == VersionKind.NORMAL
    )
    assert back.text == "restored after deletion" and back.compared_seq == 1
    assert plan_events(back, Channel.PAGE)[0].kind == EventKind.RESTORED


def test_gone_without_history_is_a_miss():
    assert plan(History(missing_count=5), Gone(410), NOW) == Miss(6, 410)


def test_failures_and_unchanged():
    history = History(versions=(Prior(1, "a", VersionKind.NORMAL),))
    assert plan(history, Unchanged(CheckOutcome.NOT_MODIFIED), NOW) == Confirm(CheckOutcome.NOT_MODIFIED, 1)
    assert plan(history, FetchFailed("timeout"), NOW) == Failure(CheckOutcome.ERROR, "timeout")
    denied = plan(history, FetchFailed("robots", CheckOutcome.ROBOTS_DENIED), NOW)
    assert denied == Failure(CheckOutcome.ROBOTS_DENIED, "robots")
    assert plan(history, ExtractionFailed("bad"), NOW) == Failure(CheckOutcome.ERROR, "bad")
    empty = plan(history, ExtractionFailed("no article text", no_content=True), NOW)
    assert isinstance(empty, Suspect) and empty.reason == "no_text" and empty.seq == 1


def test_reextracted_is_its_own_kind():
    channel = Channel1()
    channel.apply(Seen(content(), raw_size=5000))
    planned = channel.apply(Seen(content(text=BODY + " More."), raw_size=5000, reextracted=True))
    assert isinstance(planned, NewVersion) and planned.kind == VersionKind.REEXTRACTED
    assert [e.kind for e in plan_events(planned, Channel.PAGE)] == [EventKind.REEXTRACTED]


# --- fidelity -----------------------------------------------------------------------------------


def test_no_text_is_suspect_never_a_version():
    planned = plan(History(), Seen(content(text=""), raw_size=14_000_000), NOW)
    assert isinstance(planned, Suspect) and planned.reason == "no_text" and planned.seq is None
    event = plan_events(planned, Channel.PAGE)[0]
    assert event.kind == EventKind.SUSPECT and "no text" in event.summary


def test_lost_text_while_body_did_not_shrink_is_suspect():
    channel = Channel1()
    channel.apply(Seen(content(), raw_size=50_000))
    planned = channel.apply(Seen(content(text="Reprinted with permission."), raw_size=52_000))
    assert isinstance(planned, Suspect) and planned.reason == "lost_text" and planned.seq == 1


def test_lost_text_with_a_shrunken_body_is_a_real_edit():
    channel = Channel1()
    channel.apply(Seen(content(), raw_size=50_000))
    planned = channel.apply(Seen(content(text="Article removed by the publisher."), raw_size=8_000))
    assert isinstance(planned, NewVersion)


def test_feed_entries_are_not_judged_on_fidelity():
    planned = plan(History(), Seen(content(text="")), NOW)
    assert isinstance(planned, NewVersion)


def test_mojibake_is_suspect():
    russian = "Кремль заявил, что пересмотрит свою позицию на переговорах. " * 5
    as_latin = russian.encode("utf-8").decode("cp1252", errors="replace")
    assert garbled_text(russian) is None and garbled_text(as_latin) is not None
    replaced = russian.encode("cp1251").decode("utf-8", errors="replace")
    assert garbled_text(replaced) is not None
    planned = plan(History(), Seen(content(text=replaced), raw_size=5000), NOW)
    assert isinstance(planned, Suspect) and planned.reason == "mojibake"
    french = "Le Kremlin a déclaré qu'il réviserait sa position. Ça été dit à Moscou. " * 5
    assert garbled_text(french) is None


# --- properties ---------------------------------------------------------------------------------

titles = st.sampled_from(["A", "B", "C"])
steps = st.lists(st.one_of(titles, st.just("gone")), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_properties_over_any_sequence(sequence):
    channel = Channel1()
    for step in sequence:
        before = channel.history()
        observation = Gone(404) if step == "gone" else Seen(content(title=step))
        planned = channel.apply(observation)
        latest = before.latest
        if isinstance(planned, NewVersion | Tombstone):
            assert planned.seq == (latest.seq + 1 if latest else 1)  # seq monotone, no gaps
        if isinstance(planned, NewVersion):
            assert latest is None or latest.content_hash != planned.content_hash  # never equal content
            if planned.kind == VersionKind.REVERT:
                earlier = {p.seq: p.content_hash for p in before.versions}
                assert earlier[planned.revert_of] == planned.content_hash
            if latest is not None and latest.kind == VersionKind.TOMBSTONE:
                assert planned.restored
        if step != "gone" and latest is not None and latest.kind != VersionKind.TOMBSTONE:
            same = latest.content_hash == content_hash(content(title=step))
            assert isinstance(planned, Confirm) == same
    seqs = [p.seq for p in channel.versions]
    assert seqs == list(range(1, len(seqs) + 1))


@settings(max_examples=30, deadline=None)
@given(st.lists(titles, min_size=2, max_size=6, unique=True))
def test_a_b_a_is_always_a_revert(distinct):
    channel = Channel1()
    for title in distinct:
        channel.apply(Seen(content(title=title)))
    planned = channel.apply(Seen(content(title=distinct[0])))
    assert isinstance(planned, NewVersion) and planned.kind == VersionKind.REVERT and planned.revert_of == 1
