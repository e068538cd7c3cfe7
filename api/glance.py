"""The story at a glance: the lane picture (a server-rendered SVG, no JavaScript), the timeline's
feed and page events of one article merged into one entry, and a document's headline evolution.

Everything here turns plain rows into plain values for the templates (api/templates/_glance.html,
story.html, headlines.html), which escape every archived string. Geometry: one lane per article,
lanes grouped under their outlet, time running left to right; one mark per version, coloured by
its heaviest edit class (docs/significance.md). A tombstone is a cross, a restoration a ring, a
revert a diamond; every mark links to its diff (a first version to the version itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from api import links
from scraper.core.diff_align import word_ops
from scraper.core.diff_classes import CLASSES, top_class
from storage.glance import HeadlineRow, MarkRow
from storage.timeline import outlet

COLOURS = {
    "headline": "#c0392b", "hedging": "#8e44ad", "number": "#e67e22", "quote": "#2471a3",
    "note": "#138d75", "paragraph": "#1b2631", "sentence": "#717d7e", "link": "#229954",
    "byline": "#a04000", "date": "#b3b6b7", "moved": "#aab7b8", "metadata": "#aab7b8",
    "typo": "#d5dbdb", "first_version": "#34495e", "deleted": "#000000", "other": "#aab7b8",
}  # fmt: skip
WIDTH, LEFT, RIGHT, TOP = 960, 230, 24, 34
LANE, GROUP = 26, 20  # heights of an article's lane and of an outlet's heading
LABEL_FROM = 0.3  # marks at least this significant carry a visible label
TICKS = 5
MERGE_WINDOW = timedelta(hours=2)  # feed and page events of one article this close are one entry


@dataclass(frozen=True, slots=True)
class Mark:
    x: float
    y: float
    shape: str  # circle (page, api) | square (feed) | cross (deleted) | ring (restored) | diamond (revert)
    colour: str
    href: str
    tooltip: str
    label: str | None
    css: str  # edit class or kind, for the legend and for tests


@dataclass(frozen=True, slots=True)
class Lane:
    y: float
    document_id: int
    title: str
    href: str
    headlines_href: str
    first_x: float
    last_x: float


@dataclass(frozen=True, slots=True)
class Group:
    y: float
    outlet: str


@dataclass(frozen=True, slots=True)
class Picture:
    width: int
    height: int
    groups: tuple[Group, ...]
    lanes: tuple[Lane, ...]
    marks: tuple[Mark, ...]
    ticks: tuple[tuple[float, str], ...]
    legend: tuple[tuple[str, str], ...]  # (class, colour) of the classes drawn
    left: int = LEFT


def picture(rows: Sequence[MarkRow]) -> Picture | None:
    """The lane picture of a story's versions (None when it has none)."""
    if not rows:
        return None
    start = min(r.observed_at for r in rows)
    end = max(r.observed_at for r in rows)
    span = max((end - start).total_seconds(), 3600.0)

    def x_of(when: datetime) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (when - start).total_seconds() / span, 1)

    groups, lanes, marks = [], [], []
    y = TOP
    for name, documents in _by_outlet(rows):
        groups.append(Group(y + 14, name))
        y += GROUP
        for versions in documents:
            lane_y = y + LANE / 2
            lanes.append(_lane(versions, lane_y, x_of))
            marks += _marks(versions, lane_y, x_of)
            y += LANE
    moments = [start + timedelta(seconds=span * i / (TICKS - 1)) for i in range(TICKS)]
    ticks = tuple((x_of(moment), f"{moment:%m-%d %H:%M}") for moment in moments)
    drawn = {m.css for m in marks}
    legend = tuple((c, COLOURS[c]) for c in (*CLASSES, "deleted") if c in drawn and c in COLOURS)
    return Picture(WIDTH, int(y + 10), tuple(groups), tuple(lanes), tuple(marks), ticks, legend)


def _by_outlet(rows: Sequence[MarkRow]) -> list[tuple[str, list[list[MarkRow]]]]:
    """Outlets in order of their first article; each article's versions in time order."""
    by_doc: dict[int, list[MarkRow]] = {}
    for row in rows:
        by_doc.setdefault(row.document_id, []).append(row)
    docs = sorted(by_doc.values(), key=lambda vs: (vs[0].discovered_at, vs[0].document_id))
    outlets: dict[str, list[list[MarkRow]]] = {}
    for versions in docs:
        outlets.setdefault(outlet(versions[0].url), []).append(sorted(versions, key=lambda v: v.observed_at))
    return list(outlets.items())


def _lane(versions: Sequence[MarkRow], y: float, x_of: Any) -> Lane:
    first = versions[0]
    titles = [v.title for v in versions if v.title]
    title = titles[-1] if titles else first.url
    return Lane(y, first.document_id, _short(title, 34), f"/documents/{first.document_id}",
                f"/documents/{first.document_id}/headlines", x_of(versions[0].observed_at),
                x_of(versions[-1].observed_at))  # fmt: skip


def _marks(versions: Sequence[MarkRow], y: float, x_of: Any) -> list[Mark]:
    out = []
    previous: dict[str, MarkRow] = {}
    for v in versions:
        before = previous.get(v.channel)
        out.append(_mark(v, before, x_of(v.observed_at), y))
        previous[v.channel] = v
    return out


def _mark(v: MarkRow, before: MarkRow | None, x: float, y: float) -> Mark:
    summary = v.change_summary or {}
    css = edit_class(summary)
    significance = summary.get("significance")
    sig = float(significance) if isinstance(significance, int | float) else 0.0
    shape, label = ("square" if v.channel == "feed" else "circle"), _label(summary, css, sig)
    if v.kind == "tombstone":
        shape, css, label = "cross", "deleted", "deleted"
    elif before is not None and before.kind == "tombstone":
        shape, label = "ring", "restored"
    elif v.kind == "revert":
        shape, label = "diamond", f"reverted to v{v.revert_of}" if v.revert_of else "reverted"
    href = (links.version_path(v.document_id, v.channel, v.seq, html=True) if before is None
            else links.diff_path(v.document_id, v.channel, v.seq, html=True))  # fmt: skip
    text = str(summary.get("summary") or v.kind)
    tooltip = f"{outlet(v.url)} · {v.channel} v{v.seq} · {v.observed_at:%Y-%m-%d %H:%M} UTC · {text}"
    if sig:
        tooltip += f" · significance {sig:.2f}"
    return Mark(x, y, shape, COLOURS.get(css, COLOURS["other"]), href, tooltip, label, css)


def edit_class(summary: dict[str, Any]) -> str:
    """The heaviest edit class of a stored change summary; guessed from the summary line for
    summaries stored before edit classes existed."""
    found = top_class(summary)
    if found:
        return found
    text = str(summary.get("summary") or "")
    for needle, name in (("first version", "first_version"), ("headline", "headline"),
                         ("number", "number"), ("quotation", "quote"), ("note", "note"),
                         ("byline", "byline"), ("typo", "typo"), ("added", "sentence"),
                         ("removed", "sentence"), ("edited", "sentence"), ("date", "date")):  # fmt: skip
        if needle in text:
            return name
    return "other"


def _label(summary: dict[str, Any], css: str, significance: float) -> str | None:
    if significance < LABEL_FROM or css == "first_version":
        return None
    classes = summary.get("classes") or []
    reason = str(classes[0].get("reason", "")) if classes and isinstance(classes[0], dict) else ""
    if css == "number" and ": " in reason:
        return reason.split(": ", 1)[1]
    if css == "headline" and ":" in reason:
        return reason.split(":", 1)[0]
    return _short(reason or str(summary.get("summary") or css), 28)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


# -- the timeline: one entry per article and moment -----------------------------------------------


@dataclass
class Entry:
    """One or more events of one article (its feed entry and its page) shown as one."""

    events: list[Any] = field(default_factory=list)

    @property
    def main(self) -> Any:
        """The event shown: the most significant (the page's on a tie)."""
        return max(self.events, key=lambda e: (e.significance or 0.0, e.channel == "page"))

    @property
    def channels(self) -> list[Any]:
        return sorted(self.events, key=lambda e: (e.channel or "", e.seq or 0))

    @property
    def significance(self) -> float | None:
        values = [e.significance for e in self.events if e.significance is not None]
        return max(values) if values else None


def merge_channels(events: Iterable[Any], window: timedelta = MERGE_WINDOW) -> list[Entry]:
    """Entries in the events' order; an event of an article joins the article's latest entry when
    that entry has no event of its channel yet and is at most ``window`` away."""
    entries: list[Entry] = []
    open_by_doc: dict[int, Entry] = {}
    for event in events:
        channel = getattr(event, "channel", None)
        entry = open_by_doc.get(event.document_id) if channel in ("page", "feed") else None
        if entry is not None and _joins(entry, event, window):
            entry.events.append(event)
            continue
        entry = Entry([event])
        entries.append(entry)
        if channel in ("page", "feed"):
            open_by_doc[event.document_id] = entry
    return entries


def _joins(entry: Entry, event: Any, window: timedelta) -> bool:
    channels = {e.channel for e in entry.events}
    close = all(abs(e.at - event.at) <= window for e in entry.events)
    first = _kind(entry.events[0])
    return event.channel not in channels and close and first not in ("discovered", "new_coverage")


def _kind(event: Any) -> str:
    return str(getattr(event.kind, "value", event.kind))


# -- headline evolution ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Headline:
    channel: str
    seq: int
    observed_at: datetime
    kind: str
    words: tuple[tuple[str, str], ...]  # (op, text): equal | insert | delete, against the one before
    href: str


def headline_evolution(document_id: int, rows: Sequence[HeadlineRow]) -> dict[str, list[Headline]]:
    """Per channel, every headline the document had, in order (a repeated title is skipped), each
    with its words marked against the headline before it."""
    out: dict[str, list[Headline]] = {}
    for row in rows:
        if not row.title:
            continue
        seen = out.setdefault(row.channel, [])
        before = _plain(seen[-1]) if seen else None
        if before == row.title:
            continue
        ops = ((w.op, w.text) for w in word_ops(before, row.title)) if before else (("equal", row.title),)
        href = links.version_path(document_id, row.channel, row.seq, html=True)
        seen.append(Headline(row.channel, row.seq, row.observed_at, row.kind, tuple(ops), href))
    return out


def _plain(headline: Headline) -> str:
    return "".join(text for op, text in headline.words if op != "delete")
