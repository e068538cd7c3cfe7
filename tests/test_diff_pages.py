"""Diffs of real before/after page captures (shared corpus, page-versions/web-monitoring-diff).

fema.gov's Hurricane Maria page between 3 and 5 October 2017: figures updated (12,300 -> 14,000
federal staff, 18 -> 19 states, 62 -> 64 requests, 94% -> 92% hospitals, "as of October 3" ->
"October 5"), list items dropped and added, tweets replaced. The second capture is also
double-encoded (mojibake: "Espa\u00c3\u00b1ol"), which must read as typo-level noise, not rewrites.
energy.gov's home page: two news items pushed in at the top, the two oldest dropped at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trafilatura

from scraper.core.diff import Diff, apply_blocks, diff_texts
from scraper.core.diff_render import FORMATS, render

PAIRS = Path("page-versions") / "web-monitoring-diff"


def extract_pair(corpus: Path, name: str) -> tuple[str, str]:
    texts = []
    for version in ("v1", "v2"):
        [path] = sorted((corpus / PAIRS).glob(f"{name}_{version}__*.html"))
        text = trafilatura.extract(path.read_text(encoding="utf-8"))
        assert text, f"trafilatura found no text in {path}"
        texts.append(text)
    return texts[0], texts[1]


@pytest.fixture
def fema(corpus: Path) -> tuple[str, str, Diff]:
    old, new = extract_pair(corpus, "fema-hurricane-maria")
    return old, new, diff_texts(old, new)


@pytest.fixture
def energy(corpus: Path) -> tuple[str, str, Diff]:
    old, new = extract_pair(corpus, "energy-gov-home")
    return old, new, diff_texts(old, new)


def texts(diff: Diff, op: str) -> list[str]:
    return [(b.new if op == "added" else b.old) or "" for b in diff.changed_blocks() if b.op == op]


def test_fema_updated_figures_are_called_out(fema: tuple[str, str, Diff]) -> None:
    _, _, diff = fema
    for pair in [("3", "5"), ("12,300", "14,000"), ("18", "19"), ("62", "64"), ("94%", "92%")]:
        assert pair in diff.numbers
    assert "12,300 -> 14,000" in diff.summary and "18 -> 19" in diff.summary


def test_fema_edited_sentences_show_the_words(fema: tuple[str, str, Diff]) -> None:
    _, _, diff = fema
    edited = {b.old: b for b in diff.changed_blocks() if b.op == "edited"}
    staff = next(b for old, b in edited.items() if old and "12,300 federal staff" in old)
    assert [(w.op, w.text.strip()) for w in staff.words if w.op != "equal"] == [
        ("delete", "12,300"),
        ("insert", "14,000"),
        ("delete", "representing 36 departments and agencies and"),
    ]
    assert any(b.new == "All figures as of October 5, 2017, 10 am EDT" for b in edited.values())


def test_fema_dropped_and_new_items(fema: tuple[str, str, Diff]) -> None:
    _, _, diff = fema
    assert "- USS Wasp scheduled to arrive Tuesday Oct 3 with 13 helicopters" in texts(diff, "removed")
    assert "Power Restoration and Fuel Impacts" in texts(diff, "removed")  # a heading dropped in v2
    assert (
        "- Mail pick-up or delivery to P.O. boxes at all 128 post offices including Vieques and Culebra"
        in texts(diff, "added")
    )
    assert any(t.startswith("Landslide or Road Blocked after #HurricaneMaria") for t in texts(diff, "added"))
    assert any(t.startswith("Our Joint Field Office in Puerto Rico") for t in texts(diff, "removed"))


def test_fema_mojibake_reads_as_typos(fema: tuple[str, str, Diff]) -> None:
    _, _, diff = fema
    assert diff.stats["typos_fixed"] >= 20
    assert "typos fixed" in diff.summary
    edited_tables = [
        b for b in diff.changed_blocks() if b.op == "edited" and b.old == "| Rinc\u00f3n | Aguadilla |"
    ]
    assert edited_tables and edited_tables[0].new == "| Rinc\u00c3\u00b3n | Aguadilla |"


def test_fema_round_trips(fema: tuple[str, str, Diff]) -> None:
    old, new, diff = fema
    assert apply_blocks(old, diff) == new


def test_energy_news_items_rotated(energy: tuple[str, str, Diff]) -> None:
    old, new, diff = energy
    added, removed = texts(diff, "added"), texts(diff, "removed")
    assert "Secretary Perry Urges FERC to Take Swift Action to Address Threats to Grid Resiliency" in added
    assert any(t.startswith("Secretary Perry Announces Conditional Commitment") for t in added)
    assert (
        "U.S. Department of Energy Proposes Expedited Approval for Small-Scale Natural Gas Exports" in removed
    )
    assert any(t.startswith("Energy Department Invests Up to $50 Million") for t in removed)
    assert [b.op for b in diff.changed_blocks() if b.op not in ("added", "removed")] == []
    assert diff.summary == "6 sentences added; 6 sentences removed"
    assert apply_blocks(old, diff) == new


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_pairs_render_in_every_format(fema: tuple[str, str, Diff], fmt: str) -> None:
    out = render(fema[2], fmt, old_label="2017-10-03", new_label="2017-10-05")
    assert "14,000" in out
