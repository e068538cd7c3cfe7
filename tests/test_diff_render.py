"""Diff formats: what each shows, that the patch applies, and that archived markup stays inert."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from markdown_it import MarkdownIt
from rich.console import Console

from jobs.diffview import render_rich
from scraper.core.diff import Diff, diff_contents, diff_texts, field_values
from scraper.core.diff_html import CSS
from scraper.core.diff_render import FORMATS, render
from scraper.core.diff_unified import document_text
from scraper.core.types import Content
from tests.test_diff import diff_case, load_version, text_versions

# -- every format -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_the_summary(fmt: str) -> None:
    old, new = load_version("base"), load_version("combined")
    out = render(diff_contents(old, new), fmt, old=old, new=new, old_label="v1", new_label="v2")
    assert "89" in out
    if fmt != "unified":
        assert "headline rewritten" in out


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"'xml'.*text, unified, markdown, html, html-side, json"):
        render(diff_case("identical"), "xml")


def test_text_marks_each_change() -> None:
    out = render(diff_case("combined"), "text", old_label="v1", new_label="v2")
    lines = out.splitlines()
    assert (
        lines[0]
        == "headline rewritten; 2 sentences added; a number changed: 91 -> 89; correction note appended"
    )
    assert lines[1] == "v1 -> v2"
    assert any(line.startswith("title: Russia says Ukraine fired 91 drones") for line in lines)
    assert (
        "~ Russia's foreign minister said on Monday that Ukraine had fired [-91-]{+89+} long-range drones"
        in out
    )
    assert "+ Officials in Kyiv offered to show satellite images of the area." in lines
    assert any(line.startswith("+ Correction: An earlier version") for line in lines)


def test_text_of_a_moved_paragraph_and_a_removal() -> None:
    assert "> (moved) The Kremlin said it would" in render(diff_case("paragraph_moved"), "text")
    assert "- No evidence of the attack has been made public." in render(
        diff_case("paragraph_removed"), "text"
    )


def test_markdown_shows_words_struck_and_bold() -> None:
    out = render(diff_case("number_changed"), "markdown")
    assert "~~91~~**89**" in out
    assert out.startswith("### Changes: old \u2192 new")


def test_html_inline_marks_words() -> None:
    out = render(diff_case("number_changed"), "html")
    assert "fired <del>91</del><ins>89</ins> long-range drones" in out


def test_html_side_by_side_has_a_row_per_block() -> None:
    diff = diff_case("combined")
    soup = BeautifulSoup(render(diff, "html-side"), "html.parser")
    rows = soup.select("table.side tr")[1:]
    assert len(rows) == sum(b.visible for b in diff.blocks)
    edited = [r for r in rows if "edited" in r["class"]]
    old_cell, new_cell = edited[0].find_all("td")
    assert [d.get_text() for d in old_cell.find_all("del")] == ["91"]
    assert [i.get_text() for i in new_cell.find_all("ins")] == ["89"]


def test_json_holds_operations_and_statistics() -> None:
    new = load_version("combined")
    document = json.loads(render(diff_case("combined"), "json", old_label="v1", new_label="v2"))
    assert (document["old_label"], document["new_label"]) == ("v1", "v2")
    assert document["stats"]["sentences_added"] == 3
    assert document["numbers"] == [["91", "89"]]
    rebuilt = sorted(
        (b["new_index"], b["new"] + b["new_sep"]) for b in document["blocks"] if b["new"] is not None
    )
    assert "".join(text for _, text in rebuilt) == new.text


# -- unified: a patch that applies ------------------------------------------------------------

needs_patch = pytest.mark.skipif(shutil.which("patch") is None, reason="the patch program is not installed")


def apply_patch(tmp_path: Path, old_document: str, patch: str) -> str:
    (tmp_path / "old.txt").write_bytes(old_document.encode())
    (tmp_path / "change.patch").write_bytes(patch.encode())
    files = [str(tmp_path / name) for name in ("new.txt", "old.txt", "change.patch")]
    subprocess.run(["patch", "--silent", "--output", *files], check=True)
    return (tmp_path / "new.txt").read_bytes().decode()


@needs_patch
@pytest.mark.parametrize(
    "case", ["combined", "paragraph_moved", "byline_changed", "whitespace_only", "typo_fix"]
)
def test_unified_patch_applies(tmp_path: Path, case: str) -> None:
    old, new = load_version("base"), load_version(case)
    patch = render(diff_contents(old, new), "unified", old=old, new=new, old_label="v1", new_label="v2")
    assert patch.startswith("--- v1\n+++ v2\n@@ ")
    old_document = document_text(field_values(old), old.text)
    assert apply_patch(tmp_path, old_document, patch) == document_text(field_values(new), new.text)


@needs_patch
def test_unified_patch_without_versions_covers_changed_fields(tmp_path: Path) -> None:
    diff = diff_case("combined")
    patch = render(diff, "unified")
    assert "-Title: Russia says Ukraine fired 91 drones at Putin's Valdai residence\n" in patch
    assert "Byline" not in patch  # unchanged fields are only known with the versions
    old_title = {"title": diff.fields[0].old}
    new_title = {"title": diff.fields[0].new}
    old, new = load_version("base").text, load_version("combined").text
    assert apply_patch(tmp_path, document_text(old_title, old), patch) == document_text(new_title, new)


@needs_patch
def test_unified_patch_of_a_first_version(tmp_path: Path) -> None:
    new = load_version("base")
    patch = render(diff_contents(None, new), "unified", new=new)
    assert apply_patch(tmp_path, "", patch) == document_text(field_values(new), new.text)


@needs_patch
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text_versions())
def test_unified_patch_applies_to_any_versions(tmp_path: Path, versions: tuple[str, str]) -> None:
    old, new = versions
    patch = render(diff_texts(old, new), "unified")
    if patch:
        assert apply_patch(tmp_path, document_text({}, old), patch) == document_text({}, new)
    else:
        assert document_text({}, old) == document_text({}, new)


# -- archived markup stays inert --------------------------------------------------------------

PAYLOADS = (
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "</style><script>alert(3)</script>",
    '"><svg onload=alert(4)>',
    "<a href='javascript:alert(5)'>x</a>",
    "--><script>alert(6)</script>",
    "</title></textarea><script>alert(7)</script>",
)
HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "p", "article", "table", "tr", "th", "td",
             "ins", "del", "span", "ul", "li"}  # fmt: skip
OLD_LABEL, NEW_LABEL = "<script>alert(8)</script>", '"><b onmouseover=alert(9)>'


def hostile_versions() -> tuple[Content, Content]:
    """A payload in every place archived text can reach: fields, every kind of block, quotes, notes."""
    p = PAYLOADS
    old = Content(
        title=f"Drone claim {p[0]}",
        byline=f"Staff {p[1]}",
        description=f"About {p[2]}",
        text=(
            f"Equal sentence {p[3]} stays. Edited sentence says 91 {p[4]} drones.\n\n"
            f"Removed paragraph {p[5]} goes.\n\n"
            f'Moved paragraph with "{p[6]}" in quotes.\n\n'
            f'The Kremlin would "revise {p[0]}" its stance.'
        ),
    )
    new = Content(
        title=f"Drone claim rewritten {p[2]}",
        byline=f"Staff {p[3]}",
        description=f"About {p[4]}",
        text=(
            f'Moved paragraph with "{p[6]}" in quotes.\n\n'
            f"Equal sentence {p[3]} stays. Edited sentence says 89 {p[4]} {p[1]} drones.\n\n"
            f"Added sentence {p[2]} here.\n\n"
            f'The Kremlin would "review {p[5]}" its stance.\n\n'
            f"Correction: {p[0]} was misquoted."
        ),
    )
    return old, new


def hostile_diff() -> Diff:
    diff = diff_contents(*hostile_versions())
    assert {b.op for b in diff.changed_blocks()} >= {"added", "removed", "edited", "moved"}
    assert diff.quotes and diff.notes and diff.numbers
    return diff


def assert_inert(page: str, *, style: str | None, tags: set[str] = HTML_TAGS) -> None:
    for soup in (BeautifulSoup(page, "html.parser"), BeautifulSoup(page, "lxml")):
        found = soup.find_all(True)
        assert soup.find_all("script") == []
        assert [(t.name, a) for t in found for a in t.attrs if a.lower().startswith("on")] == []
        assert {t.name for t in found} <= tags | {"html", "head", "body"}
        if style is not None:
            assert [s.string for s in soup.find_all("style")] == [style]
        text = soup.get_text()
        for payload in PAYLOADS:
            assert payload.replace('"', "") in text.replace('"', "") or payload in text
    tree = lxml.html.document_fromstring(page)
    assert tree.xpath("//script | //img | //svg | //a | //iframe | //*[@*[starts-with(name(), 'on')]]") == []


@pytest.mark.parametrize("fmt", ["html", "html-side"])
def test_html_formats_keep_archived_markup_inert(fmt: str) -> None:
    old, new = hostile_versions()
    page = render(hostile_diff(), fmt, old=old, new=new, old_label=OLD_LABEL, new_label=NEW_LABEL)
    assert page.count("<script") == 0 and page.count("<style>") == 1
    assert_inert(page, style=CSS)


def test_html_forbids_script_by_policy_too() -> None:
    page = render(diff_case("combined"), "html")
    meta = BeautifulSoup(page, "html.parser").find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert meta is not None and "default-src 'none'" in meta["content"]


def test_markdown_keeps_archived_markup_inert() -> None:
    out = render(hostile_diff(), "markdown", old_label=OLD_LABEL, new_label=NEW_LABEL)
    page = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(out)
    assert_inert(
        page,
        style=None,
        tags={"h3", "p", "strong", "s", "ul", "li", "table", "thead", "tbody", "tr", "th", "td"},
    )


def test_text_and_json_keep_payloads_verbatim() -> None:
    diff = hostile_diff()
    assert "<script>alert(1)</script>" in render(diff, "text")
    document = json.loads(render(diff, "json"))
    assert any("<script>alert(1)</script>" in (f["old"] or "") for f in document["fields"])


# -- terminal (rich) --------------------------------------------------------------------------


def console_text(diff: Diff) -> str:
    console = Console(
        record=True, width=300, force_terminal=True, color_system="truecolor", file=io.StringIO()
    )
    console.print(render_rich(diff, old_label="v1", new_label="v2"))
    return console.export_text()


def test_rich_view_colours_words() -> None:
    group = render_rich(diff_case("number_changed"))
    lines = list(group.renderables)
    edited = next(line for line in lines if line.plain.startswith("~ "))  # type: ignore[union-attr]
    styled = {edited.plain[s.start : s.end]: str(s.style) for s in edited.spans}  # type: ignore[union-attr]
    assert styled["91"] == "bold red strike"
    assert styled["89"] == "bold green"


def test_rich_view_prints_summary_and_changes() -> None:
    out = console_text(diff_case("combined"))
    assert (
        out.splitlines()[0]
        == "headline rewritten; 2 sentences added; a number changed: 91 -> 89; correction note appended"
    )
    assert "+ Officials in Kyiv offered to show satellite images of the area." in out


def test_rich_view_never_reads_archived_text_as_markup() -> None:
    diff = diff_texts(
        "A calm sentence.", "A calm sentence. The [red]alarm[/red] and [link=http://x]here[/link]."
    )
    out = console_text(diff)
    assert "+ The [red]alarm[/red] and [link=http://x]here[/link]." in out
