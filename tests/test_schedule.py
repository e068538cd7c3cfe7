"""After each check the document's next check follows the policy and its overrides."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from jobs.pipeline import check_url
from jobs.schedule import document_policy
from scraper.core.recheck import DEFAULT_POLICY
from storage import catalog
from storage import documents as docs
from tests.test_pipeline import page


def test_overrides_pick_the_most_eager():
    policy = document_policy([{"recheck_min": "1m", "recheck_max": "1h"}, {"recheck_max": "10m"}, {}])
    assert policy.min_interval == timedelta(minutes=1)
    assert policy.max_interval == timedelta(minutes=10)
    assert document_policy([{}]) is DEFAULT_POLICY


async def test_next_check_set_and_story_override_applies(server, services, engine, clock):
    server.route("/n", page())
    await check_url(services, server.url("/n"))
    with Session(engine) as s:
        doc = docs.get_document(s, url=server.url("/n"))
        assert doc.next_check is not None
        assert timedelta(minutes=5) <= doc.next_check - clock() <= timedelta(minutes=10)
        catalog.upsert_story(
            s, slug="fast", now=clock(), title="fast", settings={"recheck_min": "1m", "recheck_max": "2m"}
        )
        s.commit()
    server.route("/m", page(title="Another"))
    await check_url(services, server.url("/m"), story_slug="fast")
    with Session(engine) as s:
        doc = docs.get_document(s, url=server.url("/m"))
        assert doc.next_check - clock() <= timedelta(minutes=2)
