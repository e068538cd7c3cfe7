"""A tiny local news site (stdlib HTTP server on 127.0.0.1) that serves the demo articles."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobs.demo.content import ALL, SITE, Article, article


def render_article(a: Article, base: str) -> str:
    url = f"{base}/{a.slug}"
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "datePublished": a.date,
        "dateModified": a.modified or a.date,
        "author": {"@type": "Person", "name": a.byline},
        "mainEntityOfPage": url,
    }
    body = "\n".join(f"    <p>{escape(p)}</p>" for p in a.paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(a.title)} | {SITE}</title>
<link rel="canonical" href="{url}">
<meta property="og:title" content="{escape(a.title)}">
<meta name="description" content="{escape(a.summary)}">
<meta property="article:published_time" content="{a.date}">
<script type="application/ld+json">{json.dumps(ld)}</script>
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/europe">Europe</a>
<a href="/rss.xml">RSS</a></nav></header>
<main><article>
  <h1>{escape(a.title)}</h1>
  <p class="byline">By {escape(a.byline)}</p>
  <div class="article-body">
{body}
  </div>
</article></main>
<aside><h2>Most read</h2><ul><li><a href="/">Markets close higher</a></li>
<li><a href="/">Weather: snow</a></li></ul></aside>
<footer><p>© 2026 {SITE}. All rights reserved.
<a href="/about">About us</a> · <a href="/privacy">Privacy</a></p></footer>
</body></html>
"""


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


def render_feed(articles: list[Article], base: str) -> str:
    items = "\n".join(
        f"""  <item><title>{escape(a.title)}</title><link>{base}/{a.slug}?utm_source=rss&amp;ref=rss</link>
    <guid isPermaLink="false">{a.slug}</guid><description>{escape(a.summary)}</description>
    <pubDate>{_rfc822(a.date)}</pubDate></item>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{SITE}</title><link>{base}/</link><description>World news</description>
{items}
</channel></rss>
"""


def render_front(articles: list[Article], base: str, section: str | None = None) -> str:
    links = "\n".join(
        f'<li><a href="/{a.slug}">{escape(a.title)}</a></li>'
        for a in articles
        if section is None or a.section == section
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{SITE}</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="{base}/rss.xml"></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav><h1>{SITE}</h1><ul>
{links}
</ul></body></html>
"""


def render_sitemap(articles: list[Article], base: str) -> str:
    urls = "\n".join(
        f"  <url><loc>{base}/{a.slug}</loc><lastmod>{a.modified or a.date}</lastmod></url>" for a in articles
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{urls}
</urlset>
"""


class DemoSite:
    """Serves round ``round`` of the demo site; change ``round`` to move the story on."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.round = 0
        self.requests = 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                site.requests += 1
                status, ctype, body = site.respond(self.path.split("?", 1)[0])
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if status == 200:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> DemoSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def live(self) -> list[Article]:
        return [a for a in (article(x.slug, self.round) for x in ALL) if a is not None]

    def url(self, a: Article) -> str:
        return f"{self.base}/{a.slug}"

    def respond(self, path: str) -> tuple[int, str, bytes]:
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return (
                200,
                "text/plain",
                b"User-agent: *\nDisallow: /private/\nSitemap: " + f"{self.base}/sitemap.xml\n".encode(),
            )
        if path in ("/", "/world", "/europe"):
            section = path.strip("/") or None
            return 200, html, render_front(self.live(), self.base, section).encode()
        if path == "/rss.xml":
            return 200, "application/rss+xml; charset=utf-8", render_feed(self.live(), self.base).encode()
        if path == "/sitemap.xml":
            return 200, "application/xml", render_sitemap(self.live(), self.base).encode()
        found = article(path.strip("/"), self.round)
        if found is None:
            return 404, html, b"<html><body><h1>Page not found</h1></body></html>"
        return 200, html, render_article(found, self.base).encode()
