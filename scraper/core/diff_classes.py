"""Edit classes and the significance model built on them (docs/significance.md).

A diff is described as a list of :class:`EditClass`: what kind of edit (``headline``,
``hedging``, ``number``...), how much it weighs and why, in words. The significance of the diff
combines the weights as independent signals, ``1 - prod(1 - weight)``, so every score can be
explained by its classes: a changed number (0.4) and a dropped "alleged" in the headline (0.5)
give ``1 - 0.6 * 0.5 = 0.7``. The weights are in :data:`WEIGHTS`; docs/significance.md gives the
reasons for each.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from scraper.core.diff_facts import change_runs
from scraper.core.diff_model import Block, EditClass, FieldChange
from scraper.core.diff_summary import TITLE_WEIGHTS, Facts, title_kind
from scraper.core.diff_text import word_count
from scraper.core.hedging import HedgeChange, hedge_changes

# In the order of the legend: the most telling first. ``first_version`` is not an edit.
CLASSES = ("headline", "hedging", "number", "quote", "note", "paragraph", "sentence", "link",
           "byline", "date", "moved", "metadata", "typo", "first_version")  # fmt: skip
WEIGHTS: Mapping[str, float] = {
    "hedging_headline": 0.5,  # "alleged" dropped from (or added to) a headline
    "hedging_rewritten": 0.2,  # ... from a headline rewritten anyway (it weighs 0.5 already)
    "hedging_body": 0.3,  # ... from an edited sentence of the body
    "number": 0.4,  # each number replaced (91 -> 89)
    "quote": 0.3,  # each quotation added, removed or altered
    "note_correction": 0.5,  # a correction note
    "note_other": 0.4,  # an update, a clarification, an editor's note
    "link": 0.15,  # each link added
    "byline": 0.3,
    "published": 0.2,
    "modified": 0.02,
    "description": 0.15,
    "canonical_url": 0.1,
    "language": 0.2,
    "moved": 0.1,  # each moved block, at most MOVED_CAP
    "typo": 0.02,  # each typo fixed in the body, at most TYPO_CAP
}
MOVED_CAP, TYPO_CAP = 0.3, 0.08
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


def classify(facts: Facts, counts: Mapping[str, int]) -> tuple[EditClass, ...]:
    """Every edit class found in ``facts``, heaviest first."""
    if facts.first_version:
        return (EditClass("first_version", 1.0, "first version of the document"),)
    found = [
        *_field_classes(facts.fields),
        *_hedging_classes(facts),
        *_number_classes(facts.numbers),
        *_quote_classes(facts.quotes),
        *_note_classes(facts),
        *_body_classes(facts, counts),
        *_link_classes(facts),
        *_moved_classes(facts.blocks),
        *_typo_classes(counts),
    ]
    return tuple(sorted((c for c in found if c.weight > 0), key=lambda c: -c.weight))


def score(classes: Iterable[EditClass]) -> float:
    """``1 - prod(1 - weight)`` over the classes, rounded to 3 places."""
    return round(1 - math.prod(1 - c.weight for c in classes), 3)


def top_class(summary: Mapping[str, Any]) -> str | None:
    """The name of the heaviest class in a stored change summary (None: none recorded)."""
    classes = summary.get("classes") or []
    names = [c.get("class") for c in classes if isinstance(c, dict)]
    return str(names[0]) if names and names[0] else None


def explain(classes: Iterable[EditClass]) -> list[str]:
    """One line per class: ``"number changed: 91 -> 89 (+0.40)"``."""
    return [f"{c.reason} (+{c.weight:.2f})" for c in classes]


# -- fields -----------------------------------------------------------------------------------


def _field_classes(fields: Iterable[FieldChange]) -> Iterator[EditClass]:
    for change in fields:
        if change.field == "title":
            yield _headline_class(change)
        elif change.field == "byline":
            yield EditClass("byline", WEIGHTS["byline"], f"byline changed: {change.old} -> {change.new}")
        elif change.field in ("published", "modified"):
            reason = f"{change.field} date changed: {_day(change.old)} -> {_day(change.new)}"
            yield EditClass("date", WEIGHTS[change.field], reason)
        else:
            yield EditClass("metadata", WEIGHTS.get(change.field, 0.1), f"{change.field} changed")


def _headline_class(change: FieldChange) -> EditClass:
    kind = title_kind(change)
    if kind == "typo":
        return EditClass("typo", TITLE_WEIGHTS["typo"], f"headline typo fixed: {change.old} -> {change.new}")
    return EditClass("headline", TITLE_WEIGHTS[kind], f"headline {kind}: {change.old} -> {change.new}")


def _hedging_classes(facts: Facts) -> Iterator[EditClass]:
    for change in facts.fields:
        if change.field == "title" and change.old and change.new:
            where = "rewritten" if title_kind(change) == "rewritten" else "headline"
            for hedge in hedge_changes(change.old, change.new):
                yield _hedge_class(hedge, where)
    for at, block in enumerate(facts.blocks):
        if block.op == "edited" and facts.kinds.get(at) in ("edit", "quote"):
            runs = change_runs(block.words)
            deleted, inserted = " ".join(d for d, _ in runs), " ".join(i for _, i in runs)
            for hedge in hedge_changes(deleted, inserted):
                yield _hedge_class(hedge, "body")


def _hedge_class(hedge: HedgeChange, where: str) -> EditClass:
    place = "a sentence" if where == "body" else "headline"
    preposition = "from" if hedge.change == "removed" else "to"
    return EditClass(
        "hedging",
        WEIGHTS[f"hedging_{where}"],
        f'{hedge.kind} "{hedge.word}" {hedge.change} {preposition} the {place}'.replace("the a ", "a "),
    )


# -- body facts -------------------------------------------------------------------------------


def _number_classes(numbers: Iterable[tuple[str, str]]) -> Iterator[EditClass]:
    for old, new in numbers:
        yield EditClass("number", WEIGHTS["number"], f"number changed: {old} -> {new}")


def _quote_classes(quotes: Iterable[tuple[str | None, str | None]]) -> Iterator[EditClass]:
    for old, new in quotes:
        if old is None:
            yield EditClass("quote", WEIGHTS["quote"], f'quotation added: "{_short(new)}"')
        elif new is None:
            yield EditClass("quote", WEIGHTS["quote"], f'quotation removed: "{_short(old)}"')
        else:
            reason = f'quotation altered: "{_short(old)}" -> "{_short(new)}"'
            yield EditClass("quote", WEIGHTS["quote"], reason)


def _note_classes(facts: Facts) -> Iterator[EditClass]:
    for note in facts.notes:
        weight = WEIGHTS["note_correction" if note.kind == "correction" else "note_other"]
        where = "appended" if note.appended else "added"
        yield EditClass("note", weight, f"{note.kind} note {where}: {_short(note.text)}")


def _body_classes(facts: Facts, counts: Mapping[str, int]) -> Iterator[EditClass]:
    """Paragraphs and sentences added or removed, sentences reworded: weighted by their share of
    the words, ``min(1, 2 * sqrt(changed / (old + new words)))``."""
    total = counts["words_old"] + counts["words_new"]
    paragraphs: dict[str, int] = {"added": 0, "removed": 0}
    sentences: dict[str, int] = {"added": 0, "removed": 0, "edited": 0}
    words = {"paragraph": 0, "sentence": 0}
    for at, block in enumerate(facts.blocks):
        if not block.visible or at in facts.note_at or block.op in ("equal", "moved"):
            continue
        if block.op == "edited":
            if facts.kinds.get(at) == "edit":
                sentences["edited"] += 1
                words["sentence"] += sum(word_count(w.text) for w in block.words if w.op != "equal")
            continue
        size = word_count((block.new if block.op == "added" else block.old) or "")
        level = "paragraph" if block.level == "paragraph" else "sentence"
        (paragraphs if level == "paragraph" else sentences)[block.op] += 1
        words[level] += size
    for noun, ops in (("paragraph", paragraphs), ("sentence", sentences)):
        if words[noun]:
            yield EditClass(noun, _share(words[noun], total), _tally(noun, ops, total, words))


def _share(changed: int, total: int) -> float:
    return min(1.0, 2 * math.sqrt(changed / total)) if total and changed > 0 else 0.0


def _tally(noun: str, ops: Mapping[str, int], total: int, words: Mapping[str, int]) -> str:
    parts = [f"{n} {noun}{'s' if n > 1 else ''} {op}" for op, n in ops.items() if n]
    share = words[noun] / total if total else 0.0
    return f"{', '.join(parts)} ({words[noun]} words, {share:.0%} of old + new)"


def _link_classes(facts: Facts) -> Iterator[EditClass]:
    old_links = set(_links_in(b.old or "" for b in facts.blocks))
    new_links = [link for link in dict.fromkeys(_links_in(b.new or "" for b in facts.blocks))]
    for link in new_links:
        if link not in old_links:
            yield EditClass("link", WEIGHTS["link"], f"link added: {link}")


def _links_in(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        yield from (m.group(0).rstrip(".,;:") for m in _URL.finditer(text))


def _moved_classes(blocks: Iterable[Block]) -> Iterator[EditClass]:
    moved = sum(b.op == "moved" for b in blocks)
    if moved:
        weight = min(MOVED_CAP, WEIGHTS["moved"] * moved)
        yield EditClass("moved", weight, f"{moved} block{'s' if moved > 1 else ''} moved")


def _typo_classes(counts: Mapping[str, int]) -> Iterator[EditClass]:
    typos = counts["typos_fixed"]
    if typos:
        weight = min(TYPO_CAP, WEIGHTS["typo"] * typos)
        yield EditClass("typo", weight, f"{typos} typo{'s' if typos > 1 else ''} fixed in the body")


def _short(text: str | None, width: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def _day(iso: str | None) -> str:
    return (iso or "none")[:16].replace("T", " ")
