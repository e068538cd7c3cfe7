"""Precision mode keeping a fragment of the article: detected, and the default mode's text kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.core import extract as extract_module
from scraper.core.extract import RECALL_GAIN, TRUNCATED_SHARE, extract, looks_truncated


def test_a_small_share_of_the_paragraph_text_looks_truncated() -> None:
    assert looks_truncated(595, 24056)
    assert looks_truncated(0, 100)
    assert not looks_truncated(4000, 4400)
    assert not looks_truncated(0, 0)  # a page without paragraphs: nothing to compare with
    assert looks_truncated(int(TRUNCATED_SHARE * 1000) - 1, 1000)
    assert not looks_truncated(int(TRUNCATED_SHARE * 1000), 1000)


def test_a_fragment_is_replaced_by_the_default_modes_article(corpus: Path) -> None:
    page = corpus / "extraction-readability" / "engadget" / "source.html"
    if not page.is_file():
        pytest.skip(f"{page} not found")
    text = extract(page.read_bytes()).content.text
    assert len(text) > 5000, f"kept only {len(text)} characters"


def test_a_complete_precision_text_is_kept_without_a_second_extraction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bool] = []
    real = extract_module._bare

    def counting(tree: object, url: str | None, *, precision: bool) -> object:
        calls.append(precision)
        return real(tree, url, precision=precision)  # type: ignore[arg-type]

    monkeypatch.setattr(extract_module, "_bare", counting)
    sentence = "of the article, long enough to be kept as text."
    paragraphs = "".join(f"<p>Paragraph {i} {sentence}</p>" for i in range(12))
    html = f"<html><head><title>A story</title></head><body><article>{paragraphs}</article></body></html>"
    result = extract(html)
    assert "Paragraph 11" in result.content.text
    assert calls == [True]
    assert RECALL_GAIN > 1
