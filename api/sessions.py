"""Sessions for the write pages: a login with the server's API token sets a signed, HttpOnly,
SameSite=Strict cookie; every form carries a CSRF token derived from that session.

    session cookie  "<issued unix seconds>.<hex HMAC-SHA256(token, 'session.' + issued)>"
    CSRF token      hex HMAC-SHA256(token, 'csrf.' + session cookie)
    login form      a random value in a short-lived cookie, repeated in the form (double submit)

Changing the API token ends every session. Nothing is stored on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs

SESSION_COOKIE = "storytrail_session"
LOGIN_COOKIE = "storytrail_login"
SESSION_SECONDS = 12 * 3600


def _mac(token: str, message: str) -> str:
    return hmac.new(token.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def new_session(token: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_mac(token, f'session.{issued}')}"


def valid_session(token: str | None, cookie: str | None, now: float | None = None) -> bool:
    if not token or not cookie or "." not in cookie:
        return False
    issued, _, mac = cookie.partition(".")
    if not issued.isdigit():
        return False
    age = (time.time() if now is None else now) - int(issued)
    return 0 <= age <= SESSION_SECONDS and hmac.compare_digest(mac, _mac(token, f"session.{issued}"))


def csrf_token(token: str, cookie: str) -> str:
    return _mac(token, f"csrf.{cookie}")


def valid_csrf(token: str, cookie: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(given or "", csrf_token(token, cookie))


def login_nonce() -> str:
    return secrets.token_hex(16)


def form_fields(body: bytes) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (every value of every field)."""
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=200)
