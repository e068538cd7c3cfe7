"""Prometheus metrics: the text exposition parses and carries the values; registries are private."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from jobs.metrics import EXTRACT_BUCKETS, FETCH_BUCKETS, Metrics
from scraper.core.types import Channel, CheckOutcome, VersionKind


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = metrics.render()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, frozenset(labels.items()))]


def test_render_returns_the_text_format_and_its_content_type():
    body, content_type = Metrics().render()
    assert content_type.startswith("text/plain; version=")
    families = {f.name: f.type for f in text_string_to_metric_families(body.decode("utf-8"))}
    assert families["storytrail_fetches"] == "counter"
    assert families["storytrail_versions"] == "counter"
    assert families["storytrail_errors"] == "counter"
    assert families["storytrail_polls"] == "counter"
    assert families["storytrail_queue_depth"] == "gauge"
    assert families["storytrail_scheduler_heartbeat_timestamp_seconds"] == "gauge"
    assert families["storytrail_documents_enrolled"] == "gauge"
    assert families["storytrail_fetch_seconds"] == "histogram"
    assert families["storytrail_extract_seconds"] == "histogram"


def test_fetches_count_by_outcome_and_feed_the_latency_histogram():
    m = Metrics(process_metrics=False)
    m.observe_fetch(CheckOutcome.UNCHANGED, 0.3)
    m.observe_fetch("unchanged", 0.7)
    m.observe_fetch(CheckOutcome.NEW_VERSION, 12.0)
    assert value(m, "storytrail_fetches_total", outcome="unchanged") == 2
    assert value(m, "storytrail_fetches_total", outcome="new_version") == 1
    assert value(m, "storytrail_fetches_total", outcome="gone") == 0
    assert value(m, "storytrail_fetch_seconds_count") == 3
    assert value(m, "storytrail_fetch_seconds_sum") == pytest.approx(13.0)
    assert value(m, "storytrail_fetch_seconds_bucket", le="0.5") == 1
    assert value(m, "storytrail_fetch_seconds_bucket", le="1.0") == 2
    assert value(m, "storytrail_fetch_seconds_bucket", le="20.0") == 3
    assert value(m, "storytrail_fetch_seconds_bucket", le="+Inf") == 3


def test_every_known_outcome_kind_and_channel_is_exported_from_the_start():
    s = samples(Metrics(process_metrics=False))
    for outcome in CheckOutcome:
        assert s[("storytrail_fetches_total", frozenset({("outcome", outcome.value)}))] == 0
    for kind in VersionKind:
        for channel in Channel:
            key = ("storytrail_versions_total", frozenset({("kind", kind.value), ("channel", channel.value)}))
            assert s[key] == 0


def test_versions_errors_polls_and_gauges_carry_their_values():
    m = Metrics(process_metrics=False)
    m.version_created(VersionKind.NORMAL, Channel.PAGE)
    m.version_created("revert", "feed")
    m.version_created("revert", "feed")
    m.error("timeout")
    m.poll("world-news", "ok")
    m.poll("kyiv-mastodon", "error")
    m.set_queue_depth(42)
    m.set_documents_enrolled(1234)
    m.heartbeat(datetime(2025, 12, 30, 9, 0, tzinfo=UTC))
    m.observe_extract(0.02)
    assert value(m, "storytrail_versions_total", kind="normal", channel="page") == 1
    assert value(m, "storytrail_versions_total", kind="revert", channel="feed") == 2
    assert value(m, "storytrail_errors_total", kind="timeout") == 1
    assert value(m, "storytrail_polls_total", source="world-news", outcome="ok") == 1
    assert value(m, "storytrail_polls_total", source="kyiv-mastodon", outcome="error") == 1
    assert value(m, "storytrail_queue_depth") == 42
    assert value(m, "storytrail_documents_enrolled") == 1234
    assert value(m, "storytrail_scheduler_heartbeat_timestamp_seconds") == 1767085200.0
    assert value(m, "storytrail_extract_seconds_bucket", le="0.025") == 1
    assert value(m, "storytrail_extract_seconds_bucket", le="0.01") == 0


def test_heartbeat_takes_unix_seconds_and_refuses_naive_times():
    m = Metrics(process_metrics=False)
    m.heartbeat(1767085200.5)
    assert value(m, "storytrail_scheduler_heartbeat_timestamp_seconds") == 1767085200.5
    with pytest.raises(ValueError, match="timezone-aware"):
        m.heartbeat(datetime(2025, 12, 30, 9, 0))


def test_registries_are_private_so_many_can_coexist():
    a, b = Metrics(), Metrics()
    a.error("dns")
    assert value(a, "storytrail_errors_total", kind="dns") == 1
    assert ("storytrail_errors_total", frozenset({("kind", "dns")})) not in samples(b)
    assert REGISTRY.get_sample_value("storytrail_errors_total", {"kind": "dns"}) is None


def test_buckets_are_sorted_and_cover_the_expected_ranges():
    assert list(FETCH_BUCKETS) == sorted(FETCH_BUCKETS) and FETCH_BUCKETS[-1] >= 60
    assert list(EXTRACT_BUCKETS) == sorted(EXTRACT_BUCKETS) and EXTRACT_BUCKETS[0] <= 0.005
