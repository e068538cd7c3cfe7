"""Statistics and the one-line summary of a diff.

The significance score is built on edit classes in :mod:`scraper.core.diff_classes`
(docs/significance.md); the headline weights stay here beside :func:`title_kind`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scraper.core.diff_align import similarity, word_ops
from scraper.core.diff_display import flat
from scraper.core.diff_facts import EditKind, change_runs, is_typo
from scraper.core.diff_model import Block, FieldChange, Note
from scraper.core.diff_text import count_sentences, key, word_count

TITLE_WEIGHTS = {"rewritten": 0.5, "edited": 0.3, "added": 0.3, "removed": 0.3, "typo": 0.03}
STAT_KEYS = (
    "sentences_added", "sentences_removed", "sentences_edited", "sentences_moved",
    "paragraphs_added", "paragraphs_removed", "paragraphs_moved", "words_added", "words_removed",
    "words_old", "words_new", "fields_changed", "numbers_changed", "quotes_changed", "notes_added",
    "typos_fixed",
)  # fmt: skip
FORMATTING_ONLY = "only formatting changed (spacing, quote styles, line breaks)"
_MAX_LISTED = 4
_QUOTE_WIDTH = 60


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the summary and the score are computed from."""

    fields: tuple[FieldChange, ...]
    blocks: tuple[Block, ...]
    kinds: dict[int, EditKind]  # position of each edited block -> what kind of edit it is
    numbers: tuple[tuple[str, str], ...]
    quotes: tuple[tuple[str | None, str | None], ...]
    notes: tuple[Note, ...]
    note_at: frozenset[int]
    words_old: int
    words_new: int
    first_version: bool = False


def title_kind(change: FieldChange) -> str:
    """How a headline changed: added, removed, typo, edited or rewritten."""
    if change.old is None or change.new is None:
        return "added" if change.old is None else "removed"
    runs = change_runs(word_ops(change.old, change.new))
    if len(runs) <= 3 and all(is_typo(d, i) for d, i in runs):
        return "typo"
    overlap = similarity(Counter(key(change.old).split()), Counter(key(change.new).split()))
    return "edited" if overlap >= 0.5 else "rewritten"


def stats(facts: Facts) -> dict[str, int]:
    counts = Counter(dict.fromkeys(STAT_KEYS, 0))
    for at, block in enumerate(facts.blocks):
        if block.op != "equal" and block.visible:
            counts.update(_block_counts(block, facts.kinds.get(at)))
    counts.update(words_old=facts.words_old, words_new=facts.words_new, fields_changed=len(facts.fields),
                  numbers_changed=len(facts.numbers), quotes_changed=len(facts.quotes),
                  notes_added=len(facts.notes))  # fmt: skip
    return {name: counts[name] for name in STAT_KEYS}


def _block_counts(block: Block, kind: EditKind | None) -> dict[str, int]:
    paragraph = int(block.level == "paragraph")
    if block.op == "added":
        text = block.new or ""
        return {
            "sentences_added": _sentences(text),
            "paragraphs_added": paragraph,
            "words_added": word_count(text),
        }
    if block.op == "removed":
        text = block.old or ""
        return {"sentences_removed": _sentences(text), "paragraphs_removed": paragraph,
                "words_removed": word_count(text)}  # fmt: skip
    if block.op == "moved":
        return {"sentences_moved": _sentences(block.new or ""), "paragraphs_moved": paragraph}
    return {
        "sentences_edited": 1,
        "typos_fixed": int(kind == "typo"),
        "words_added": _op_words(block, "insert"),
        "words_removed": _op_words(block, "delete"),
    }


def _sentences(text: str) -> int:
    return count_sentences(text)


def _op_words(block: Block, op: str) -> int:
    return sum(word_count(w.text) for w in block.words if w.op == op)


def summarize(facts: Facts, empty: bool) -> str:
    """One line, most important first: "headline rewritten; 2 sentences added; ..."."""
    if facts.first_version:
        return "first version"
    fields = {change.field: change for change in facts.fields}
    phrases = [
        *_field_phrases(fields, ("title", "byline", "description", "canonical_url", "language")),
        *_body_phrases(facts),
        *_number_phrases(facts.numbers),
        *_quote_phrases(facts.quotes),
        *_note_phrases(facts.notes),
        *_field_phrases(fields, ("published", "modified")),
    ]
    if phrases:
        return "; ".join(phrases)
    if not empty:
        return "text edited"
    identical = all(b.old == b.new and b.old_sep == b.new_sep for b in facts.blocks)
    return "no change" if identical else FORMATTING_ONLY


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"a {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _field_phrases(fields: dict[str, FieldChange], names: Iterable[str]) -> list[str]:
    return [_field_phrase(fields[name]) for name in names if name in fields]


def _field_phrase(change: FieldChange) -> str:
    if change.field == "title":
        kind = title_kind(change)
        return "headline: typo fixed" if kind == "typo" else f"headline {kind}"
    label = {"canonical_url": "canonical URL", "published": "published date",
             "modified": "modified date"}.get(change.field, change.field)  # fmt: skip
    if change.old is None or change.new is None:
        return f"{label} {'added' if change.old is None else 'removed'}"
    if change.field in ("byline", "language"):
        return f"{label} changed: {change.old} -> {change.new}"
    if change.field in ("published", "modified"):
        return f"{label} changed: {_short_date(change.old)} -> {_short_date(change.new)}"
    return f"{label} changed"


def _short_date(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _body_phrases(facts: Facts) -> list[str]:
    visible = [(at, b) for at, b in enumerate(facts.blocks) if b.visible]
    added = sum(_sentences(b.new or "") for at, b in visible if b.op == "added" and at not in facts.note_at)
    removed = sum(_sentences(b.old or "") for _, b in visible if b.op == "removed")
    edited = sum(facts.kinds.get(at) == "edit" for at, _ in visible)
    phrases = [
        f"{_count(added, 'sentence')} added" if added else "",
        f"{_count(removed, 'sentence')} removed" if removed else "",
        f"{_count(edited, 'sentence')} edited" if edited else "",
        _typo_phrase([b for at, b in visible if facts.kinds.get(at) == "typo"]),
        _moved_phrase([b for _, b in visible if b.op == "moved"]),
    ]
    return [p for p in phrases if p]


def _typo_phrase(typos: Sequence[Block]) -> str:
    if len(typos) != 1:
        return f"{len(typos)} typos fixed" if typos else ""
    deleted, inserted = (flat(text) for text in change_runs(typos[0].words)[0])
    return f"a typo fixed: {deleted} -> {inserted}" if deleted and inserted else "a typo fixed"


def _moved_phrase(moved: Sequence[Block]) -> str:
    paragraphs = sum(b.level == "paragraph" for b in moved)
    sentences = len(moved) - paragraphs
    parts = [
        f"{_count(paragraphs, 'paragraph')}" if paragraphs else "",
        _count(sentences, "sentence") if sentences else "",
    ]
    return " and ".join(p for p in parts if p) + " moved" if moved else ""


def _number_phrases(numbers: Sequence[tuple[str, str]]) -> list[str]:
    if not numbers:
        return []
    listed = ", ".join(f"{a} -> {b}" for a, b in numbers[:_MAX_LISTED])
    more = ", ..." if len(numbers) > _MAX_LISTED else ""
    return [f"{_count(len(numbers), 'number')} changed: {listed}{more}"]


def _quote_phrases(quotes: Sequence[tuple[str | None, str | None]]) -> list[str]:
    changed = [(a, b) for a, b in quotes if a is not None and b is not None]
    added = [b for a, b in quotes if a is None and b is not None]
    removed = [a for a, b in quotes if b is None and a is not None]
    phrases = []
    if changed:
        one = f": {_q(changed[0][0])} -> {_q(changed[0][1])}" if len(changed) == 1 else ""
        phrases.append(f"{_count(len(changed), 'quotation')} changed{one}")
    for found, verb in ((added, "added"), (removed, "removed")):
        if found:
            one = f": {_q(found[0])}" if len(found) == 1 else ""
            phrases.append(f"{_count(len(found), 'quotation')} {verb}{one}")
    return phrases


def _q(text: str | None) -> str:
    text = text or ""
    short = text if len(text) <= _QUOTE_WIDTH else text[: _QUOTE_WIDTH - 1].rstrip() + "\u2026"
    return f'"{short}"'


def _note_phrases(notes: Sequence[Note]) -> list[str]:
    groups = Counter((n.kind, n.appended) for n in notes)
    return [
        f"{_note_noun(kind) if n == 1 else f'{n} {_note_noun(kind)}s'} {'appended' if appended else 'added'}"
        for (kind, appended), n in groups.items()
    ]


def _note_noun(kind: str) -> str:
    return kind if kind == "editor's note" else f"{kind} note"
