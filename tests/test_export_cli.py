"""`storytrail export SLUG --format F --output PATH`: the file, the JSON summary, the one-line errors."""

from __future__ import annotations

import json

from jobs.cli.common import CLIError
from storage.documents import NotFoundError
from tests.fixtures.reading.story import build_story, invoke, run_cli


async def test_export_command(server, services, engine, clock, db_url, tmp_path):
    await build_story(server, services, clock)
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli(db_url, "export", "valdai", "--format", "csv", "--output", str(out / "v.csv"), "--json",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary == {"format": "csv", "path": str(out / "v.csv"), "bytes": (out / "v.csv").stat().st_size,
                       "records": 7, "documents": 2, "versions": 7}  # fmt: skip
    human = invoke(db_url, "export", "valdai", "--format", "wacz", "--output", str(out / "v.wacz"))
    assert human.exit_code == 0, human.output
    assert "wrote" in human.stderr and "wacz" in human.stderr
    assert human.stdout == ""  # py-wacz's chatter is kept out
    assert (out / "v.wacz").stat().st_size > 0
    unknown = invoke(db_url, "export", "valdai", "--format", "pdf", "--output", str(out / "v.pdf"))
    assert isinstance(unknown.exception, CLIError) and unknown.exception.code == 2
    choices = "jsonl, csv, markdown, html, atom, warc, wacz, newsedits, parquet"
    assert str(unknown.exception) == f"--format 'pdf' is not one of: {choices}"
    bad_path = out / "missing" / "v.csv"
    unwritable = invoke(db_url, "export", "valdai", "--format", "csv", "--output", str(bad_path))
    assert isinstance(unwritable.exception, CLIError) and str(unwritable.exception).startswith("--output: ")
    assert str(bad_path) in str(unwritable.exception) and "does not exist" in str(unwritable.exception)
    slug = invoke(db_url, "export", "nope", "--format", "csv", "--output", str(out / "x.csv"))
    assert isinstance(slug.exception, NotFoundError) and "no story with slug 'nope'" in str(slug.exception)
    assert sorted(p.name for p in out.iterdir()) == ["v.csv", "v.wacz"]
