"""Research exports: NewsEdits-compatible SQLite (read back with sqlite3) and Parquet (read back with
pyarrow); the sentence labels agree with the diff."""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter

import pytest

from scraper.core.diff import diff_texts
from scraper.core.diff_display import sides
from scraper.core.diff_pairs import sentence_pairs
from scraper.core.diff_text import segment
from storage.export import ExportError, OutputNotWritableError
from tests.fixtures.reading.story import ONLY_IN_V1, build_story, export_file, run_cli
from tests.test_diff import diff_case


def test_pairs_cover_every_sentence_once_and_agree_with_the_stats() -> None:
    for case in ("combined", "paragraph_moved", "paragraph_removed", "number_changed", "sentence_added"):
        diff = diff_case(case)
        pairs = sentence_pairs(diff)
        labels = Counter(label for *_, label in pairs)
        old_n = len(segment(sides(diff)[0]))
        assert sorted(x for x, _, _ in pairs if x is not None) == list(range(old_n)), case
        assert labels["addition"] == diff.stats["sentences_added"], case
        assert labels["deletion"] == diff.stats["sentences_removed"], case
        assert labels["edit"] == diff.stats["sentences_edited"], case
        assert labels["refactor"] == diff.stats["sentences_moved"], case


def test_an_edit_is_one_pair() -> None:
    diff = diff_texts(
        "Ukraine fired 91 drones. Nobody was hurt.", "Ukraine fired 89 drones. Nobody was hurt."
    )
    assert sentence_pairs(diff) == [(0, 0, "edit"), (1, 1, "unchanged")]


async def test_newsedits_sqlite(server, services, engine, clock, tmp_path) -> None:
    await build_story(server, services, clock)
    path = tmp_path / "story.db"
    result = export_file(engine, "newsedits", path)
    db = sqlite3.connect(path)
    versions = db.execute("SELECT entry_id, version, kind FROM entryversion ORDER BY 1, 2").fetchall()
    assert result.records == len(versions) == 6  # 7 versions, the tombstone left out
    [(a,)] = db.execute("SELECT DISTINCT entry_id FROM entryversion WHERE version = 4").fetchall()
    texts = dict(db.execute("SELECT version, summary FROM entryversion WHERE entry_id = ?", (a,)).fetchall())
    assert ONLY_IN_V1 in texts[1] and ONLY_IN_V1 not in texts[2]
    query = "SELECT version, sent_idx, sentence FROM split_sentences WHERE entry_id = ?"
    sentences = {(v, i): text for v, i, text in db.execute(query, (a,))}
    assert [sentences[(1, i)] for i in range(len(segment(texts[1])))] == [u.body for u in segment(texts[1])]
    query = "SELECT sent_idx_x, sent_idx_y, label FROM matched_sentences WHERE entry_id = ? AND version_y = 2"
    pairs = db.execute(query, (a,)).fetchall()
    assert pairs == list(sentence_pairs(diff_texts(texts[1], texts[2])))  # the labels are the diff's
    for x, y, label in pairs:
        if label == "unchanged":
            assert sentences[(1, x)] == sentences[(2, y)]
    assert {"deletion", "unchanged"} <= {label for *_, label in pairs}
    labels = {r[0] for r in db.execute("SELECT DISTINCT label FROM matched_sentences")}
    assert labels <= {"addition", "deletion", "edit", "refactor", "unchanged"}


async def test_parquet_folder(server, services, engine, clock, tmp_path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    await build_story(server, services, clock)
    export_file(engine, "newsedits", tmp_path / "story.db")
    result = export_file(engine, "parquet", tmp_path / "story")
    db = sqlite3.connect(tmp_path / "story.db")
    for name in ("entryversion", "split_sentences", "matched_sentences"):
        table = pq.read_table(tmp_path / "story" / f"{name}.parquet")
        assert table.num_rows == db.execute(f"SELECT count(*) FROM {name}").fetchone()[0] > 0
    labels = pq.read_table(tmp_path / "story" / "matched_sentences.parquet").column("label").to_pylist()
    assert Counter(labels) == Counter(r[0] for r in db.execute("SELECT label FROM matched_sentences"))
    assert result.records == 6
    with pytest.raises(OutputNotWritableError, match="not empty"):
        export_file(engine, "parquet", tmp_path / "story")


async def test_parquet_without_pyarrow_is_one_clear_error(
    server, services, engine, clock, tmp_path, monkeypatch
):
    await build_story(server, services, clock)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ExportError, match="needs pyarrow .*research"):
        export_file(engine, "parquet", tmp_path / "story")
    assert not (tmp_path / "story").exists()


async def test_cli_exports_newsedits(server, services, clock, db_url, tmp_path) -> None:
    await build_story(server, services, clock)
    done = run_cli(db_url, "export", "valdai", "--format", "newsedits", "--output", str(tmp_path / "x.db"))
    assert done.returncode == 0, done.stderr
    assert sqlite3.connect(tmp_path / "x.db").execute("SELECT count(*) FROM entryversion").fetchone()[0] == 6
