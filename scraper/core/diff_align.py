"""Aligning two bodies: sentences first, then words inside the sentences that were edited.

Sentences are matched on their comparison keys with difflib's SequenceMatcher (``autojunk`` off:
a long article's common sentences must never be discarded as junk). Where a run of old sentences
was replaced by a run of new ones, similar sentences (word overlap at least :data:`SIMILAR`) are
paired in order as *edited*; the rest are *removed* and *added*. A removed sentence that reappears
elsewhere is *moved*. Sentence runs that make up a whole paragraph are then merged into one
paragraph-level block.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from difflib import SequenceMatcher

from scraper.core.diff_model import Block, BlockOp, WordOp, WordOpKind
from scraper.core.diff_text import Unit, key, words

SIMILAR = 0.5  # word overlap (Dice) from which a replaced sentence counts as edited, not rewritten
SHORT = 3  # sentences of at most this many words are also compared character by character
MAX_PAIRING = 4096  # largest old x new table of sentences compared pairwise in one replaced run
LONG_SENTENCE = 1000  # words; longer units are word-matched with autojunk on (see word_ops)


def align(old: Sequence[Unit], new: Sequence[Unit]) -> list[Block]:
    """Sentence-level blocks in display order (new order, removed where they stood)."""
    matcher = SequenceMatcher(None, [u.key for u in old], [u.key for u in new], autojunk=False)
    blocks: list[Block] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            blocks += [
                _equal(old[i], new[j], i, j) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
        else:
            blocks += _replace(old, new, (i1, i2), (j1, j2))
    return _find_moves(blocks)


def word_ops(old: str, new: str) -> tuple[WordOp, ...]:
    """Word-level changes turning sentence ``old`` into ``new``.

    A "sentence" of more than :data:`LONG_SENTENCE` words (a list or table flattened without
    punctuation) is matched with autojunk on, which keeps it fast at some cost in precision."""
    a, b = words(old), words(new)
    long = len(b) > LONG_SENTENCE
    matcher = SequenceMatcher(None, [key(t) for t in a], [key(t) for t in b], autojunk=long)
    ops: list[tuple[WordOpKind, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", "".join(b[j1:j2])))
        if tag in ("delete", "replace"):
            ops.append(("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("insert", "".join(b[j1:j2])))
    return tuple(WordOp(op, text) for op, text in _merged(ops))


def similarity(a: Counter[str], b: Counter[str]) -> float:
    """Dice coefficient of two bags of words."""
    total = a.total() + b.total()
    return 2 * (a & b).total() / total if total else 1.0


def _resemblance(a: Unit, b: Unit, bag_a: Counter[str], bag_b: Counter[str]) -> float:
    """Word overlap; for sentences of a few words, character similarity when that is higher."""
    overlap = similarity(bag_a, bag_b)
    if overlap >= SIMILAR or max(bag_a.total(), bag_b.total()) > SHORT:
        return overlap
    return max(overlap, SequenceMatcher(None, a.key, b.key, autojunk=False).ratio())


def _merged(ops: Iterable[tuple[WordOpKind, str]]) -> list[tuple[WordOpKind, str]]:
    out: list[tuple[WordOpKind, str]] = []
    for op, text in ops:
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))
    return out


def _equal(a: Unit, b: Unit, i: int, j: int) -> Block:
    return Block("equal", a.body, b.body, old_index=i, new_index=j, old_sep=a.sep, new_sep=b.sep)


def _edited(a: Unit, b: Unit, i: int, j: int) -> Block:
    ops = word_ops(a.body, b.body)
    return Block("edited", a.body, b.body, ops, old_index=i, new_index=j, old_sep=a.sep, new_sep=b.sep)


def _removed(a: Unit, i: int) -> Block:
    return Block("removed", a.body, None, old_index=i, old_sep=a.sep)


def _added(b: Unit, j: int) -> Block:
    return Block("added", None, b.body, new_index=j, new_sep=b.sep)


def _replace(
    old: Sequence[Unit], new: Sequence[Unit], rows: tuple[int, int], cols: tuple[int, int]
) -> list[Block]:
    """Blocks for old[rows] replaced by new[cols]: edited pairs, and removed/added between them."""
    blocks: list[Block] = []
    i, j = rows[0], cols[0]
    pairs = _pairs(old[rows[0] : rows[1]], new[cols[0] : cols[1]])
    for pi, pj in [*pairs, (rows[1] - rows[0], cols[1] - cols[0])]:
        stop_i, stop_j = rows[0] + pi, cols[0] + pj
        blocks += [_removed(old[k], k) for k in range(i, stop_i)]
        blocks += [_added(new[k], k) for k in range(j, stop_j)]
        if stop_i < rows[1]:
            blocks.append(_edited(old[stop_i], new[stop_j], stop_i, stop_j))
        i, j = stop_i + 1, stop_j + 1
    return blocks


def _pairs(old: Sequence[Unit], new: Sequence[Unit]) -> list[tuple[int, int]]:
    """Order-preserving pairs of similar sentences with the greatest total similarity."""
    bags_old = [Counter(u.key.split()) for u in old]
    bags_new = [Counter(u.key.split()) for u in new]
    if len(old) * len(new) > MAX_PAIRING:
        diagonal = range(min(len(old), len(new)))
        return [(k, k) for k in diagonal if _resemblance(old[k], new[k], bags_old[k], bags_new[k]) >= SIMILAR]
    sim = [[_resemblance(a, b, bag_a, bag_b) for b, bag_b in zip(new, bags_new, strict=True)]
           for a, bag_a in zip(old, bags_old, strict=True)]  # fmt: skip
    return _best_pairs(sim)


def _best_pairs(sim: list[list[float]]) -> list[tuple[int, int]]:
    n, m = len(sim), len(sim[0]) if sim else 0
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(m):
            paired = score[i][j] + sim[i][j] if sim[i][j] >= SIMILAR else 0.0
            score[i + 1][j + 1] = max(score[i][j + 1], score[i + 1][j], paired)
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 and j > 0:
        if sim[i - 1][j - 1] >= SIMILAR and score[i][j] == score[i - 1][j - 1] + sim[i - 1][j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif score[i][j] == score[i - 1][j]:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _find_moves(blocks: list[Block]) -> list[Block]:
    """Turn a removed sentence that is added again elsewhere into one *moved* block."""
    removed: defaultdict[str, deque[int]] = defaultdict(deque)
    for at, block in enumerate(blocks):
        if block.op == "removed" and (k := key(block.old or "")):
            removed[k].append(at)
    out: list[Block | None] = list(blocks)
    for at, block in enumerate(blocks):
        k = key(block.new or "") if block.op == "added" else ""
        if k and removed[k]:
            origin = removed[k].popleft()
            gone = blocks[origin]
            out[at] = Block("moved", gone.old, block.new, (), gone.old_index, block.new_index,
                            old_sep=gone.old_sep, new_sep=block.new_sep)  # fmt: skip
            out[origin] = None
    return [b for b in out if b is not None]


def coalesce(blocks: Sequence[Block], old: Sequence[Unit], new: Sequence[Unit]) -> list[Block]:
    """Merge runs of equal/added/removed/moved sentences that form a whole paragraph."""
    sizes_old, sizes_new = Counter(u.para for u in old), Counter(u.para for u in new)
    out: list[Block] = []
    run: list[Block] = []
    for block in [*blocks, None]:
        if run and (block is None or not _continues(run[-1], block, old, new)):
            whole = _whole(run, old, sizes_old, "old") and _whole(run, new, sizes_new, "new")
            out += [_merge(run)] if whole and run[0].op != "edited" else run
            run = []
        if block is not None:
            run.append(block)
    return out


def _continues(prev: Block, block: Block, old: Sequence[Unit], new: Sequence[Unit]) -> bool:
    return (
        prev.op == block.op
        and _next_in_para(prev.old_index, block.old_index, old)
        and (_next_in_para(prev.new_index, block.new_index, new))
    )


def _next_in_para(prev: int | None, index: int | None, units: Sequence[Unit]) -> bool:
    if prev is None or index is None:
        return prev is None and index is None
    return index == prev + 1 and units[index].para == units[prev].para


def _whole(run: Sequence[Block], units: Sequence[Unit], sizes: Counter[int], side: str) -> bool:
    first = run[0].old_index if side == "old" else run[0].new_index
    return first is None or sizes[units[first].para] == len(run)


def _merge(run: Sequence[Block]) -> Block:
    if len(run) == 1:
        return replace(run[0], level="paragraph")
    first, last = run[0], run[-1]
    op: BlockOp = first.op
    return Block(op, _join([(b.old, b.old_sep) for b in run]), _join([(b.new, b.new_sep) for b in run]),
                 (), first.old_index, first.new_index, "paragraph", last.old_sep, last.new_sep)  # fmt: skip


def _join(parts: Sequence[tuple[str | None, str]]) -> str | None:
    if parts[0][0] is None:
        return None
    return "".join(f"{text}{sep}" for text, sep in parts[:-1]) + (parts[-1][0] or "")
