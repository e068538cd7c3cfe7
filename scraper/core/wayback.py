"""Preservation in the Wayback Machine, the pure part: who opted in, the Save Page Now 2 request,
what its answers mean, and when to ask again.

Nothing here sends anything (jobs.wayback does) or reads a table (storage.wayback does).

The protocol (Save Page Now 2, ``https://web.archive.org/save``)::

    POST {endpoint}             form url=<page>&skip_first_archive=1, Accept: application/json,
                                Authorization: LOW <access>:<secret> (keys from archive.org/account/s3.php)
      -> 200 {"url", "job_id"}                               Submitted: ask for the job's status
      -> 200 {"status": "error", "status_ext", "message"}    classify(): Retry or Refused
      -> 3xx Location / Content-Location: /web/<ts>/<url>    Archived (the anonymous form's answer)
      -> 429 (Retry-After), 5xx                              Retry
    GET  {endpoint}/status/{job_id}
      -> {"status": "pending"}                               Pending: ask again later
      -> {"status": "success", "timestamp", "original_url"}  Archived: {base}/web/{timestamp}/{original_url}
      -> {"status": "error", "status_ext": "error:..."}      classify()

Without keys the same form is posted anonymously (lower limits); an HTML answer that names a
job (``spn2-<40 hex>``) is followed like a JSON one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from scraper.core.notify import backoff

SAVE_URL = "https://web.archive.org/save"
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
JOB_TIMEOUT = timedelta(minutes=30)  # a job still pending after this is submitted again
DAILY_LIMIT_WAIT = timedelta(hours=6)  # error:too-many-daily-captures (10 captures of a URL a day)
_JOB_ID = re.compile(r"\bspn2-[0-9a-f]{40}\b")
_SNAPSHOT_PATH = re.compile(r"/web/\d{4,14}[a-z_]*/")

# status_ext values that say "not now" rather than "never": the capture is tried again
TRANSIENT = frozenset(
    {
        "error:bad-gateway",
        "error:bandwidth-limit-exceeded",
        "error:browsing-timeout",
        "error:capture-location-error",
        "error:cannot-fetch",
        "error:celery",
        "error:gateway-timeout",
        "error:internal-server-error",
        "error:invalid-server-response",
        "error:job-failed",
        "error:no-browsers-available",
        "error:protocol-error",
        "error:proxy-error",
        "error:read-timeout",
        "error:service-unavailable",
        "error:soft-time-limit-exceeded",
        "error:too-many-daily-captures",
        "error:too-many-requests",
        "error:user-session-limit",
    }
)


def opted_in(settings: Iterable[Mapping[str, Any]]) -> bool:
    """True when any of the settings (a source's params, a story's settings) says ``wayback``."""
    return any(bool(s.get("wayback")) for s in settings)


# --------------------------------------------------------------------------- requests


def submit_form(url: str) -> bytes:
    """The form body of a capture request: the page, without re-checking an earlier archive."""
    return urlencode({"url": url, "skip_first_archive": "1"}).encode("ascii")


def request_headers(*, access_key: str | None, secret_key: str | None, form: bool) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if access_key and secret_key:
        headers["Authorization"] = f"LOW {access_key}:{secret_key}"
    return headers


def status_url(endpoint: str, job_id: str) -> str:
    return f"{endpoint.rstrip('/')}/status/{quote(job_id, safe='')}"


def snapshot_url(endpoint: str, timestamp: str, original_url: str) -> str:
    """``https://web.archive.org/web/<timestamp>/<url>`` on the endpoint's host."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}/web/{timestamp}/{original_url}"


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Reply:
    """An HTTP answer as jobs.wayback got it (header names in lower case)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float | None = None  # seconds, parsed by the caller


@dataclass(frozen=True)
class Submitted:
    job_id: str


@dataclass(frozen=True)
class Pending:
    pass


@dataclass(frozen=True)
class Archived:
    snapshot_url: str


@dataclass(frozen=True)
class Retry:
    """Not now: try again after ``wait`` (None: the back-off of the attempt). ``resubmit`` False:
    only a status request failed, the job itself may be fine (ask about it again)."""

    reason: str
    wait: timedelta | None = None
    resubmit: bool = True


@dataclass(frozen=True)
class Refused:
    """Never: the Wayback Machine will not capture this page (or the request is wrong)."""

    reason: str


SubmitOutcome = Submitted | Archived | Retry | Refused
StatusOutcome = Pending | Archived | Retry | Refused


def read_submit(reply: Reply, *, endpoint: str) -> SubmitOutcome:
    """What the answer to a capture request means."""
    trouble = _http_trouble(reply, "the capture request", resubmit=True)
    if trouble is not None:
        return trouble
    located = _located_snapshot(reply, endpoint)
    if located is not None:
        return Archived(located)
    data = _json(reply.body)
    if data is not None:
        if isinstance(data.get("job_id"), str) and data["job_id"]:
            return Submitted(data["job_id"])
        if data.get("status") == "error":
            return classify(str(data.get("status_ext") or ""), str(data.get("message") or ""))
    found = _JOB_ID.search(reply.body.decode("utf-8", "replace"))
    if found is not None:
        return Submitted(found.group(0))
    return Retry(f"Save Page Now answered HTTP {reply.status} without a job id")


def read_status(reply: Reply, *, endpoint: str) -> StatusOutcome:
    """What the answer to a status request means."""
    trouble = _http_trouble(reply, "the status request", resubmit=False)
    if trouble is not None:
        return trouble
    data = _json(reply.body)
    if data is None:
        return Retry(f"the status request answered HTTP {reply.status} without JSON", resubmit=False)
    status = data.get("status")
    if status == "pending":
        return Pending()
    if status == "success":
        timestamp, original = data.get("timestamp"), data.get("original_url")
        if not isinstance(timestamp, str) or not isinstance(original, str) or not timestamp:
            return Retry("the job succeeded but named no timestamp and original_url")
        return Archived(snapshot_url(endpoint, timestamp, original))
    if status == "error":
        return classify(str(data.get("status_ext") or ""), str(data.get("message") or ""))
    return Retry(f"the job's status is {status!r}")


def classify(status_ext: str, message: str) -> Retry | Refused:
    """A job error: worth trying again later (TRANSIENT), or never."""
    reason = " ".join(f"{status_ext or 'error'}: {message}".split()).rstrip(": ")
    if status_ext == "error:too-many-daily-captures":
        return Retry(reason, DAILY_LIMIT_WAIT)
    if status_ext in TRANSIENT:
        return Retry(reason)
    return Refused(reason)


def _http_trouble(reply: Reply, what: str, *, resubmit: bool) -> Retry | Refused | None:
    status = reply.status
    wait = timedelta(seconds=reply.retry_after) if reply.retry_after is not None else None
    if status == 429 or status >= 500 or status in (408, 425):
        return Retry(f"{what} answered HTTP {status}", wait, resubmit=resubmit)
    if 400 <= status < 500:
        hint = " (check STORYTRAIL_WAYBACK_ACCESS_KEY / _SECRET_KEY)" if status in (401, 403) else ""
        return Refused(f"{what} answered HTTP {status}{hint}")
    return None


def _located_snapshot(reply: Reply, endpoint: str) -> str | None:
    for name in ("content-location", "location"):
        value = reply.headers.get(name)
        found = urljoin(endpoint, value) if value and _SNAPSHOT_PATH.search(value) else ""
        if urlsplit(found).scheme in ("http", "https"):  # never a javascript: link on our pages
            return found
    return None


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- retries


def retry_at(attempts: int, wait: timedelta | None, now: datetime) -> datetime | None:
    """When to try again after failed attempt number ``attempts`` (1-based); None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + (wait if wait is not None else backoff(attempts, base=BACKOFF_BASE, cap=BACKOFF_CAP))


def job_expired(submitted_at: datetime | None, now: datetime) -> bool:
    """A job that has been pending too long is treated as lost (the page is submitted again)."""
    return submitted_at is not None and now - submitted_at > JOB_TIMEOUT
