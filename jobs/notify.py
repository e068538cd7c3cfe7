"""Notification delivery: the async edge. Events become deliveries (storage.notify.fan_out), due
deliveries are claimed under a lease, sent (webhook through the Fetcher, or Apprise in a thread)
and marked sent, or retried with exponential back-off; a row that keeps failing is given up after
MAX_ATTEMPTS. Delivery is at least once: a node that dies after sending and before recording it
leaves a lease that expires, and the row is sent again (a receiver drops the repeat by its
``X-Storytrail-Event`` id).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlmodel import Session

from jobs.logs import get_logger
from jobs.services import Services
from scraper.core.notify import (
    MAX_ATTEMPTS,
    EventView,
    backoff,
    digest_message,
    digest_payload,
    message,
    payload,
    webhook_headers,
)
from scraper.http import BadURL, BlockedAddress, ConnectFailed, Fetcher, FetchError
from storage import notify as store
from storage.models import NotifyTarget

log = get_logger(__name__)
T = TypeVar("T")
APPRISE_MISSING = "Apprise targets need the apprise package: pip install 'storytrail[notify]'"


class DeliveryError(Exception):
    """A send that did not succeed; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def redact(url: str) -> str:
    """The URL without a password (Apprise URLs often carry credentials there)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Sender:
    """Sends one message to one target (webhook or Apprise)."""

    fetcher: Fetcher
    public_url: str
    clock: Callable[[], datetime]
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)

    async def send(
        self, target: NotifyTarget, views: Sequence[EventView], *, delivery_id: int | None
    ) -> None:
        if target.kind == "apprise":
            title, body = digest_message(views) if len(views) > 1 else message(views[0])
            await self._apprise(target.target, title, body)
        else:
            data = (
                digest_payload(views, public_url=self.public_url)
                if len(views) > 1
                else payload(views[0], public_url=self.public_url, delivery_id=delivery_id)
            )
            await self._webhook(target, data, event_id=views[-1].id, delivery_id=delivery_id)

    def _secret(self, target: NotifyTarget) -> str | None:
        if not target.secret_env:
            return None
        secret = self.env.get(target.secret_env)
        if not secret:
            raise DeliveryError(f"the secret variable {target.secret_env} is not set")
        return secret

    async def _webhook(
        self, target: NotifyTarget, data: dict[str, Any], *, event_id: int, delivery_id: int | None
    ) -> None:
        body = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
        stamp = int(self.clock().timestamp())
        headers = webhook_headers(
            event_id=event_id,
            delivery_id=delivery_id,
            timestamp=stamp,
            body=body,
            secret=self._secret(target),
        )
        try:
            result = await self.fetcher.request_once(
                "POST", target.target, body=body, headers={"Content-Type": "application/json", **headers}
            )
        except (BlockedAddress, BadURL) as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except FetchError as exc:
            raise DeliveryError(str(exc)) from exc
        if 200 <= result.status < 300:
            return
        permanent = 400 <= result.status < 500 and result.status not in (408, 425, 429)
        raise DeliveryError(
            f"{target.target}: the receiver answered HTTP {result.status}", permanent=permanent
        )

    async def _apprise(self, url: str, title: str, body: str) -> None:
        await self._guard_apprise(url)
        await asyncio.to_thread(apprise_notify, url, title, body)

    async def _guard_apprise(self, url: str) -> None:
        """Apprise URLs whose host is an address or a resolvable name pass the same guard as fetching."""
        host = urlsplit(url).hostname
        if not host:
            return
        try:
            await self.fetcher.check_address(f"http://{host}/")
        except BlockedAddress as exc:
            raise DeliveryError(f"{redact(url)}: {exc.message}", permanent=True) from exc
        except (ConnectFailed, BadURL):
            return  # not a host name (a token of a hosted service): Apprise knows where it goes


def apprise_notify(url: str, title: str, body: str) -> None:
    """Apprise's blocking notify (run it in a thread); DeliveryError with Apprise's reason."""
    try:
        import apprise
    except ImportError as exc:
        raise DeliveryError(APPRISE_MISSING) from exc
    app = apprise.Apprise()
    if not app.add(url):
        raise DeliveryError(f"Apprise does not understand the URL {redact(url)}", permanent=True)
    with apprise.LogCapture(level=logging.WARNING) as logs:  # type: ignore[no-untyped-call]
        ok = app.notify(title=title, body=body)
        text = logs.getvalue() if hasattr(logs, "getvalue") else ""
    if not ok:
        reason = (text.strip().splitlines() or ["notification failed"])[-1]
        raise DeliveryError(f"{redact(url)}: {reason.split(' - ')[-1]}")


def check_apprise_url(url: str) -> None:
    """Raise DeliveryError if Apprise is missing or does not understand ``url`` (for `notify add`)."""
    try:
        import apprise
    except ImportError as exc:
        raise DeliveryError(APPRISE_MISSING) from exc
    if not apprise.Apprise().add(url):
        raise DeliveryError(f"Apprise does not understand the URL {redact(url)}", permanent=True)


# --------------------------------------------------------------------------- the pass


@dataclass
class NotifyReport:
    made: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0

    def line(self) -> str:
        return f"notifications: {self.sent} sent, {self.failed} to retry, {self.dead} given up"


class Notifier:
    """One delivery pass at a time: fan out, then claim and send until nothing is due."""

    def __init__(
        self,
        svc: Services,
        *,
        owner: str,
        lease: timedelta = timedelta(minutes=2),
        limit: int = 20,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.svc, self.owner, self.lease, self.limit = svc, owner, lease, limit
        self.sender = Sender(
            svc.fetcher, svc.settings.public_url, svc.clock, env if env is not None else os.environ
        )
        self._lock = asyncio.Lock()

    async def run_pass(self, *, rounds: int = 50) -> NotifyReport:
        report = NotifyReport()
        if self._lock.locked():
            return report
        async with self._lock:
            report.made = await self._db(store.fan_out, now=self.svc.clock())
            for _ in range(rounds):
                ids = await self._db(
                    store.claim, owner=self.owner, now=self.svc.clock(), lease=self.lease, limit=self.limit
                )
                if not ids:
                    break
                items = await self._db(store.outgoing, ids=ids)
                await asyncio.gather(*(self._send_group(group, report) for group in _by_target(items)))
        if report.sent or report.failed or report.dead:
            log.info(report.line(), extra={"node": self.owner})
        return report

    async def release(self) -> int:
        return await self._db(store.release_all, owner=self.owner)

    async def _send_group(self, group: list[store.Outgoing], report: NotifyReport) -> None:
        if group[0].target.digest:
            await self._send(group, [o.view for o in group], report)
            return
        for n, item in enumerate(group):
            if not await self._send([item], [item.view], report):
                await self._db(store.release, ids=[o.delivery_id for o in group[n + 1 :]], owner=self.owner)
                return

    async def _send(self, items: list[store.Outgoing], views: list[EventView], report: NotifyReport) -> bool:
        ids = [o.delivery_id for o in items]
        target = items[0].target
        try:
            await self.sender.send(target, views, delivery_id=ids[0] if len(ids) == 1 else None)
        except DeliveryError as exc:
            attempts = max(o.attempts for o in items) + 1
            give_up = exc.permanent or attempts >= MAX_ATTEMPTS
            retry_at = None if give_up else self.svc.clock() + backoff(attempts)
            await self._db(store.mark_failed, ids=ids, owner=self.owner, error=str(exc), retry_at=retry_at)
            report.dead += len(ids) if give_up else 0
            report.failed += 0 if give_up else len(ids)
            log.warning(
                "notification not delivered",
                extra={
                    "target": redact(target.target),
                    "error": str(exc),
                    "attempts": attempts,
                    "retry_at": str(retry_at),
                },
            )
            return False
        sent = await self._db(store.mark_sent, ids=ids, owner=self.owner, now=self.svc.clock())
        report.sent += sent  # (not `+= await`: the groups run concurrently)
        return True

    async def _db(self, fn: Callable[..., T], **kwargs: Any) -> T:
        def call() -> T:
            with Session(self.svc.engine, expire_on_commit=False) as session:
                return fn(session, **kwargs)

        return await asyncio.to_thread(call)


def _by_target(items: list[store.Outgoing]) -> list[list[store.Outgoing]]:
    groups: dict[int, list[store.Outgoing]] = {}
    for item in items:
        groups.setdefault(item.target.id or 0, []).append(item)
    return list(groups.values())


async def deliver_pending(svc: Services, *, owner: str, env: Mapping[str, str] | None = None) -> NotifyReport:
    """Deliver everything due now (``run --once``, ``notify`` tests)."""
    notifier = Notifier(svc, owner=owner, env=env)
    try:
        return await notifier.run_pass()
    finally:
        await notifier.release()


def sample_view(slug: str, title: str, now: datetime) -> EventView:
    """A made-up event for `storytrail notify test`: never stored, id 0."""
    return EventView(
        id=0,
        kind="test",
        at=now,
        summary="storytrail test notification: this target works",
        story_slug=slug,
        story_title=title,
        data={},
    )
