"""Response headers on every answer: a Content-Security-Policy that runs no script at all, nosniff,
no referrer, no framing. A response that sets its own policy (a rendered diff page with a hashed
inline style) keeps it; the defaults fill in the rest."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'none'; object-src 'none'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def csp_with_styles(style_sources: list[str]) -> str:
    """The policy, with inline styles allowed only when their hash is one of ``style_sources``."""
    return (
        CSP.replace("style-src 'self'", "style-src 'self' " + " ".join(style_sources))
        if style_sources
        else CSP
    )


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
