"""``warc``: WARC 1.1 of every capture of the story's pages, built with warcio from the stored
raw bodies (Blob) and the HTTP exchange stored on each Check.

Record order: one ``warcinfo`` first, then per capture (oldest first) a ``response`` record —
or, when an earlier capture in this file had the same payload, a ``revisit`` record (profile
identical-payload-digest, with WARC-Refers-To, -Target-URI and -Date) — followed by the
``request`` record (WARC-Concurrent-To the response). Digests are ``sha256:`` in base32, so a
response's WARC-Payload-Digest is the blob's sha256.

A re-check answered ``304 Not Modified`` is a revisit of profile server-not-modified that refers
to the document's previous capture with a body (the one the validators came from). Its HTTP block
is what a cache serves after that revalidation (RFC 9111 4.3.4): the original's status and headers
freshened with the 304's, the 304 status line kept as ``X-Archive-Orig-Status``; so pywb replays
the page, not an empty 304, at the time of the re-check. Every HTTP block carries a ``Date``
header; one the server did not send is set to the WARC-Date.

Feed and API captures (a feed poll of a source that brought in a story document, a social post's
API answer) are ``resource`` records of the raw body, with its Content-Type.

Stored bodies are the decoded payload (de-chunked, decompressed), so ``Transfer-Encoding`` and
``Content-Encoding`` are renamed ``X-Archive-Orig-*`` and ``Content-Length`` is set to the stored
length (the original kept as ``X-Archive-Orig-Content-Length`` when it differs): pywb and
ReplayWeb.page then replay the body as stored. A capture whose body was not kept (an error or a
404 page) has an empty payload and ``WARC-Truncated: unspecified``; a 304 has none to keep.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from sqlmodel import Session
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from storage.blobs import BlobMissing, get_blob
from storage.export.story import Progress, StoryExport, iso
from storage.models import Check

CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Original:
    """The first response record of a payload, which later identical captures refer to."""

    uri: str
    date: str
    record_id: str
    check: Check | None = None
    body: bytes = b""


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    gzip = not (source.output_name or path.name).endswith(".warc")
    with path.open("wb") as out:
        return write_warc(source, out, progress, gzip=gzip, filename=source.output_name or path.name)


def write_warc(
    source: StoryExport, out: BinaryIO, progress: Progress, *, gzip: bool = True, filename: str = ""
) -> int:
    """Write the story's captures to ``out``; returns the number of records."""
    writer = WARCWriter(out, gzip=gzip, warc_version="1.1")
    captures = source.captures()
    progress.start(len(captures), "warc: captures")
    writer.write_record(warcinfo(writer, source, filename))
    written, originals = 1, dict[str, Original]()
    for check in captures:
        for record in capture_records(writer, source.session, check, originals):
            writer.write_record(record)
            written += 1
        progress.advance()
    for check in source_captures(source):
        record = resource(writer, source.session, check)
        if record is not None:
            writer.write_record(record)
            written += 1
    return written


def warcinfo(writer: WARCWriter, source: StoryExport, filename: str) -> ArcWarcRecord:
    story = source.story
    info = {
        "software": f"storytrail/{_version()} (warcio)", "format": "WARC File Format 1.1",
        "conformsTo": CONFORMS_TO, "isPartOf": story.slug,
        "description": f"Captures of the coverage of story {story.slug!r}: {story.title}",
        "storytrail-exported": iso(source.now),
    }  # fmt: skip
    fields = "".join(f"{name}: {value}\r\n" for name, value in info.items() if value).encode("utf-8")
    headers = {"WARC-Date": warc_date(source.now), "WARC-Filename": filename,
               "WARC-Record-ID": record_id(filename, warc_date(source.now), "warcinfo", None),
               "WARC-Block-Digest": digest(fields)}  # fmt: skip
    return writer.create_warc_record("", "warcinfo", payload=BytesIO(fields), length=len(fields),
                                     warc_content_type="application/warc-fields",
                                     warc_headers_dict=headers)  # fmt: skip


def capture_records(
    writer: WARCWriter, session: Session, check: Check, originals: dict[str, Original]
) -> list[ArcWarcRecord]:
    """The response (or revisit) and request records of one capture."""
    uri = check.final_url or check.url or ""
    date = warc_date(check.at)
    body, truncated = _body(session, check)
    response_id = record_id(uri, date, "response", check.id)
    earlier = originals.get(check.raw_sha256 or "") if body else None
    previous = originals.get(f"doc:{check.document_id}")
    if check.http_status == 304 and previous is not None:
        response = not_modified(writer, check, uri, date, response_id, previous)
    elif earlier is not None:
        response = revisit(writer, check, uri, date, response_id, body, earlier)
        originals[f"doc:{check.document_id}"] = earlier
    else:
        response = _response(writer, check, uri, date, response_id, body, truncated)
        if body and check.raw_sha256:
            originals[check.raw_sha256] = Original(uri, date, response_id, check, body)
            originals[f"doc:{check.document_id}"] = originals[check.raw_sha256]
    records = [response]
    if check.request_headers:
        records.append(request(writer, check, uri, date, response_id))
    return records


def _body(session: Session, check: Check) -> tuple[bytes, bool]:
    """The stored body and whether the capture had one that was not kept."""
    if check.raw_sha256:
        try:
            return get_blob(session, sha256=check.raw_sha256), False
        except BlobMissing:
            return b"", True
    return b"", check.http_status not in NO_BODY_STATUSES


def _response(
    writer: WARCWriter, check: Check, uri: str, date: str, rid: str, body: bytes, truncated: bool
) -> ArcWarcRecord:
    http = response_headers(check, len(body))
    headers = {"WARC-Date": date, "WARC-Record-ID": rid, "WARC-Payload-Digest": digest(body),
               "WARC-Block-Digest": digest(_buffer(http) + body)}  # fmt: skip
    if truncated:
        headers["WARC-Truncated"] = "unspecified"
    return writer.create_warc_record(uri, "response", payload=BytesIO(body), length=len(body),
                                     http_headers=http,
                                     warc_headers_dict=headers)  # fmt: skip


def revisit(
    writer: WARCWriter, check: Check, uri: str, date: str, rid: str, body: bytes, earlier: Original
) -> ArcWarcRecord:
    http = response_headers(check, len(body))
    headers = {"WARC-Date": date, "WARC-Record-ID": rid, "WARC-Refers-To": earlier.record_id,
               "WARC-Block-Digest": digest(_buffer(http))}  # fmt: skip
    return writer.create_revisit_record(uri, digest(body), earlier.uri, earlier.date, http_headers=http,
                                        warc_headers_dict=headers)  # fmt: skip


NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


def not_modified(
    writer: WARCWriter, check: Check, uri: str, date: str, rid: str, earlier: Original
) -> ArcWarcRecord:
    """A 304 re-check: a server-not-modified revisit of the capture whose validators it confirmed."""
    assert earlier.check is not None
    http = freshened_headers(earlier.check, check, len(earlier.body))
    headers = {"WARC-Date": date, "WARC-Record-ID": rid, "WARC-Refers-To": earlier.record_id,
               "WARC-Block-Digest": digest(_buffer(http))}  # fmt: skip
    record = writer.create_revisit_record(uri, digest(earlier.body), earlier.uri, earlier.date,
                                          http_headers=http, warc_headers_dict=headers)  # fmt: skip
    record.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED)
    return record


def freshened_headers(original: Check, revalidation: Check, length: int) -> StatusAndHeaders:
    """The original response's headers updated with the 304's (RFC 9111 4.3.4), status kept."""
    base = response_headers(original, length)
    fresh = {name.lower(): (name, value) for name, value in _pairs(revalidation.response_headers)}
    skip = {"content-length", "transfer-encoding", "content-encoding", "content-type"}
    merged = [
        fresh.pop(name.lower(), (name, value)) if name.lower() not in skip else (name, value)
        for name, value in base.headers
    ]
    merged += [pair for key, pair in fresh.items() if key not in skip]
    if "date" not in {k.lower() for k, _ in _pairs(revalidation.response_headers)}:
        merged = [(k, v) for k, v in merged if k.lower() != "date"]  # the original's Date is not now
    status = revalidation.http_status or 304
    merged.append(("X-Archive-Orig-Status", f"{status} {_phrase(status)}"))
    http = StatusAndHeaders(base.statusline, merged, protocol=base.protocol)
    _ensure_date(http, revalidation.at)
    return http


def _ensure_date(http: StatusAndHeaders, when: datetime) -> None:
    if http.get_header("Date") is None:
        http.headers.append(("Date", format_datetime(when.astimezone(UTC), usegmt=True)))


def source_captures(source: StoryExport) -> list[Check]:
    """Feed polls of the sources that brought in the story's documents, and API captures."""
    from sqlmodel import col, select

    from storage.models import StoryDocument

    session = source.session
    ids = [i for i in source.document_ids]
    sources = select(StoryDocument.source_id).where(
        StoryDocument.story_id == source.story.id, col(StoryDocument.source_id).is_not(None)
    )
    polls = select(Check).where(col(Check.source_id).in_(sources), col(Check.raw_sha256).is_not(None))
    api = select(Check).where(
        col(Check.document_id).in_(ids), col(Check.channel).in_(["feed", "api"]),
        col(Check.raw_sha256).is_not(None),
    )  # fmt: skip
    rows = {c.id: c for q in (polls, api) for c in session.exec(q)}
    return sorted(rows.values(), key=lambda c: (c.at, c.id or 0))


def resource(writer: WARCWriter, session: Session, check: Check) -> ArcWarcRecord | None:
    """A feed or API capture as a resource record of its raw body (None if the body is gone)."""
    body, _ = _body(session, check)
    uri = check.final_url or check.url
    if not body or not uri:
        return None
    date = warc_date(check.at)
    mime = next((v for k, v in _pairs(check.response_headers) if k.lower() == "content-type"), None)
    headers = {"WARC-Date": date, "WARC-Record-ID": record_id(uri, date, "resource", check.id),
               "WARC-Payload-Digest": digest(body), "WARC-Block-Digest": digest(body)}  # fmt: skip
    return writer.create_warc_record(uri, "resource", payload=BytesIO(body), length=len(body),
                                     warc_content_type=mime or "application/octet-stream",
                                     warc_headers_dict=headers)  # fmt: skip


def request(writer: WARCWriter, check: Check, uri: str, date: str, response_id: str) -> ArcWarcRecord:
    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    http = StatusAndHeaders(
        f"GET {target} {_protocol(check)}", _pairs(check.request_headers), is_http_request=True
    )
    headers = {"WARC-Date": date, "WARC-Record-ID": record_id(uri, date, "request", check.id),
               "WARC-Concurrent-To": response_id, "WARC-Payload-Digest": digest(b""),
               "WARC-Block-Digest": digest(_buffer(http))}  # fmt: skip
    return writer.create_warc_record(uri, "request", payload=BytesIO(b""), length=0, http_headers=http,
                                     warc_headers_dict=headers)  # fmt: skip


def response_headers(check: Check, length: int) -> StatusAndHeaders:
    """The stored response headers, made to describe the stored (decoded) body."""
    status = check.http_status or 200
    headers: list[tuple[str, str]] = []
    for name, value in _pairs(check.response_headers):
        lower = name.lower()
        if lower in ("transfer-encoding", "content-encoding") or (
            lower == "content-length" and value != str(length)
        ):
            headers.append((f"X-Archive-Orig-{name}", value))
        elif lower != "content-length":
            headers.append((name, value))
    if status not in NO_BODY_STATUSES:
        headers.append(("Content-Length", str(length)))
    http = StatusAndHeaders(f"{status} {_phrase(status)}", headers, protocol=_protocol(check))
    _ensure_date(http, check.at)
    return http


def digest(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


def warc_date(when: datetime) -> str:
    """WARC-Date: UTC with microseconds (WARC 1.1)."""
    return str(datetime_to_iso_date(when.astimezone(UTC).replace(tzinfo=None), use_micros=True))


def record_id(uri: str, date: str, kind: str, check_id: int | None) -> str:
    """A record id that is the same each time the same capture is exported."""
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{uri}#{date}#{kind}#{check_id}')}>"


def _buffer(http: StatusAndHeaders) -> bytes:
    """The header block exactly as the writer will write it (non-ASCII values percent-encoded)."""
    http.compute_headers_buffer()
    return bytes(http.headers_buff)


def _pairs(raw: Any) -> list[tuple[str, str]]:
    return [(str(pair[0]), str(pair[1])) for pair in raw or [] if len(pair) == 2]


def _protocol(check: Check) -> str:
    version = (check.http_version or "HTTP/1.1").strip()
    return version if version.upper().startswith("HTTP/") else f"HTTP/{version}"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _version() -> str:
    try:
        return importlib.metadata.version("storytrail")
    except importlib.metadata.PackageNotFoundError:
        return "dev"
