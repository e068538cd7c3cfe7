"""Prometheus metrics for the daemon and the web server's /metrics.

Each :class:`Metrics` owns its own ``CollectorRegistry`` (never prometheus_client's global one),
so tests and embedded uses can make as many as they like. Names carry the ``storytrail_`` prefix:

    storytrail_fetches_total{outcome}            checks by outcome (CheckOutcome values)
    storytrail_versions_total{kind,channel}      versions recorded (VersionKind x Channel)
    storytrail_errors_total{kind}                errors by kind (e.g. timeout, http_5xx, extract)
    storytrail_polls_total{source,outcome}       source polls
    storytrail_wayback_total{outcome}            Save Page Now results: submitted, archived, retry, dead
    storytrail_queue_depth                       work items due and not yet claimed
    storytrail_scheduler_heartbeat_timestamp_seconds   last scheduler tick (Unix time)
    storytrail_documents_enrolled                documents with a re-check schedule
    storytrail_fetch_seconds                     fetch latency (histogram)
    storytrail_extract_seconds                   extraction time (histogram)

plus prometheus_client's standard ``process_*`` metrics (memory, CPU, open fds) on Linux.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector

from scraper.core.types import Channel, CheckOutcome, VersionKind

NAMESPACE = "storytrail"
# a fetch is a network round trip plus up to a 15 MB body; the daemon's total timeout is 60 s
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
# trafilatura on one article: milliseconds for a short page, seconds for a huge one
WAYBACK_OUTCOMES = ("submitted", "archived", "retry", "dead")
EXTRACT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The daemon's counters, gauges and histograms, and their text exposition."""

    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if process_metrics:
            ProcessCollector(registry=self.registry)  # process_* as every dashboard expects
        self._counters()
        self._gauges()
        self._histograms()
        self._zero_known_labels()

    def _counters(self) -> None:
        reg = self.registry
        self.fetches = Counter(
            "fetches", "Checks of a document, by outcome.", ["outcome"], namespace=NAMESPACE, registry=reg
        )
        self.versions = Counter(
            "versions",
            "Versions recorded, by kind and channel.",
            ["kind", "channel"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.errors = Counter("errors", "Errors, by kind.", ["kind"], namespace=NAMESPACE, registry=reg)
        self.polls = Counter(
            "polls",
            "Source polls, by source and outcome.",
            ["source", "outcome"],
            namespace=NAMESPACE,
            registry=reg,
        )

        self.wayback = Counter(
            "wayback",
            "Wayback Machine (Save Page Now) results, by outcome.",
            ["outcome"],
            namespace=NAMESPACE,
            registry=reg,
        )

    def _gauges(self) -> None:
        reg = self.registry
        self.queue_depth = Gauge(
            "queue_depth", "Work items due and not yet claimed.", namespace=NAMESPACE, registry=reg
        )
        self.scheduler_heartbeat = Gauge(
            "scheduler_heartbeat_timestamp_seconds",
            "Unix time of the scheduler's last tick.",
            namespace=NAMESPACE,
            registry=reg,
        )
        self.documents_enrolled = Gauge(
            "documents_enrolled", "Documents with a re-check schedule.", namespace=NAMESPACE, registry=reg
        )

    def _histograms(self) -> None:
        reg = self.registry
        self.fetch_seconds = Histogram(
            "fetch_seconds",
            "Time to fetch one URL.",
            buckets=FETCH_BUCKETS,
            namespace=NAMESPACE,
            registry=reg,
        )
        self.extract_seconds = Histogram(
            "extract_seconds",
            "Time to extract one body.",
            buckets=EXTRACT_BUCKETS,
            namespace=NAMESPACE,
            registry=reg,
        )

    def _zero_known_labels(self) -> None:
        """Export 0 for every known outcome and kind, so rate() works from the first scrape."""
        for outcome in CheckOutcome:
            self.fetches.labels(outcome=outcome.value)
        for kind in VersionKind:
            for channel in Channel:
                self.versions.labels(kind=kind.value, channel=channel.value)
        for result in WAYBACK_OUTCOMES:
            self.wayback.labels(outcome=result)

    # helpers the daemon calls ------------------------------------------------------------------

    def observe_fetch(self, outcome: str, seconds: float) -> None:
        self.fetches.labels(outcome=str(outcome)).inc()
        self.fetch_seconds.observe(seconds)

    def observe_extract(self, seconds: float) -> None:
        self.extract_seconds.observe(seconds)

    def version_created(self, kind: str, channel: str) -> None:
        self.versions.labels(kind=str(kind), channel=str(channel)).inc()

    def error(self, kind: str) -> None:
        self.errors.labels(kind=str(kind)).inc()

    def poll(self, source: str, outcome: str) -> None:
        self.polls.labels(source=source, outcome=str(outcome)).inc()

    def preserved(self, outcome: str) -> None:
        self.wayback.labels(outcome=outcome).inc()

    def set_queue_depth(self, n: int) -> None:
        self.queue_depth.set(n)

    def set_documents_enrolled(self, n: int) -> None:
        self.documents_enrolled.set(n)

    def heartbeat(self, ts: float | datetime) -> None:
        """Record a scheduler tick at ``ts`` (Unix seconds or an aware datetime; the caller's clock)."""
        if isinstance(ts, datetime):
            if ts.tzinfo is None:
                raise ValueError(f"heartbeat time {ts.isoformat()} must be timezone-aware (UTC)")
            ts = ts.timestamp()
        self.scheduler_heartbeat.set(ts)

    def render(self) -> tuple[bytes, str]:
        """The text exposition and its content type, for a /metrics response."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
