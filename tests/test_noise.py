"""Noise learnt per site (scraper/core/noise.py, storage/noise.py, `storytrail noise`): generated
sites with known volatile blocks (tests/fixtures/noise/site.py), the shared corpus's real page
pairs, and the whole path through a local server and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.pipeline import check_url
from scraper.core.noise import Snapshot, changes, false_versions, propose, signatures
from tests.fixtures.noise.site import START, site
from tests.fixtures.reading.story import page
from tests.test_cli import assert_one_line_error, cli
from tests.test_diff_pages import extract_pair

MOST_READ = r"^Most[ \t]+read:.*$"
UPDATED = r"^Updated[ \t]+\d+[ \t]+minutes[ \t]+ago$"


@pytest.mark.parametrize("seed", range(6))
def test_generated_site_noise_is_found_and_no_real_edit_is_lost(seed: int) -> None:
    generated = site(seed=seed)
    proposals = propose(generated.pages)
    assert [(p.rule, p.scope) for p in proposals] == [(MOST_READ, "site"), (UPDATED, "page")]
    rules = [p.rule for p in proposals]
    real, kept = changes(generated.clean, []), changes(generated.pages, rules)
    assert kept == real  # every real edit still makes a version, and nothing else does
    before = len(changes(generated.pages, []))
    assert false_versions(generated.pages, rules) == before - len(real) > 0
    assert sum(p.false_versions for p in proposals) == before - len(real)


def test_a_real_edit_on_many_pages_at_once_is_not_noise() -> None:
    lines = ["Russia said Ukraine launched 91 drones.", "Kyiv denied it.", "No evidence was shown."]
    histories = {}
    for p in range(5):
        texts = ["\n\n".join(lines)] * 3 + ["\n\n".join([*lines, "Trump said it was possible."])] * 3
        histories[f"page-{p}"] = [Snapshot(START + timedelta(hours=h), t) for h, t in enumerate(texts)]
    assert propose(histories) == []  # once, not on nearly every fetch, and not always present


def test_signatures() -> None:
    assert signatures("Updated 5 minutes ago") == [UPDATED]
    assert signatures("Most read: Storm closes Baltic ports") == [MOST_READ]
    assert signatures("Hi") == []


def test_real_page_pairs_propose_nothing(corpus: Path) -> None:
    histories = {}
    for name in ("fema-hurricane-maria", "energy-gov-home"):
        old, new = extract_pair(corpus, name)
        histories[name] = [Snapshot(START, old), Snapshot(START + timedelta(days=2), new)]
    assert propose(histories) == []


# -- through the local server and the CLI ------------------------------------------------------

BODY = ["Russia said Ukraine launched 91 drones at the residence near Valdai on Monday night.",
        "Kyiv called the claim a fabrication meant to derail the peace talks in Geneva."]  # fmt: skip
BOXES = ["Storm closes Baltic ports", "Central bank holds rates", "Heatwave in Spain", "Election law passes",
         "Museum reopens after fire"]  # fmt: skip


def noisy(fetch: int, extra: list[str] | None = None) -> str:
    box = f"Most read: {BOXES[fetch % 5]} and {BOXES[(fetch + 2) % 5]}"
    return page("Drones over Valdai", [BODY[0], box, BODY[1], *(extra or [])])


async def test_accepted_rule_stops_false_versions(server, services, clock, db_url, tmp_path) -> None:
    urls = [server.url(f"/news/{n}") for n in range(3)]
    for fetch in range(4):
        for n, url in enumerate(urls):
            server.route(f"/news/{n}", noisy(fetch))
            assert (await check_url(services, url)).outcome.value == "new_version"
        clock.advance(minutes=30)
    shown = json.loads(cli("noise", "show", "127.0.0.1", "--json", "--db", db_url, cwd=tmp_path).stdout)
    assert (shown["pages"], shown["versions"]) == (3, 12)
    [rule] = shown["rules"]
    assert (rule["rule"], rule["scope"], rule["status"], rule["false_versions"]) == (
        MOST_READ,
        "site",
        "proposed",
        9,
    )
    accepted = json.loads(cli("noise", "accept", "127.0.0.1", "--json", "--db", db_url, cwd=tmp_path).stdout)
    assert [r["status"] for r in accepted["accepted"]] == ["accepted"] and accepted["reextracted"] == 3
    versions = json.loads(cli("versions", urls[0], "--json", "--db", db_url, cwd=tmp_path).stdout)
    assert versions[-1]["kind"] == "reextracted"
    server.route("/news/0", noisy(7))  # only the box changed: no version
    assert (await check_url(services, urls[0])).outcome.value == "unchanged"
    server.route("/news/0", noisy(8, ["Trump later said it was possible the attack never happened."]))
    assert (await check_url(services, urls[0])).outcome.value == "new_version"  # a real edit still is


def test_noise_errors_are_one_line(db_url, tmp_path) -> None:
    missing = cli("noise", "show", "nowhere.example", "--db", db_url, cwd=tmp_path, check=False)
    assert missing.returncode == 1
    assert_one_line_error(missing, "no archived pages from nowhere.example")
    none = cli("noise", "accept", "nowhere.example", "--db", db_url, cwd=tmp_path, check=False)
    assert none.returncode == 1
    assert_one_line_error(none, "no proposed noise rule for nowhere.example")
