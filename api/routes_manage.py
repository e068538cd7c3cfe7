"""Write pages for people who don't use a terminal: add or edit a story (its query checked by the
real parser), add a source (with discovery behind a button), subscribe a story to notifications.

Only when writes are enabled (an API token is configured); a login form turns the token into a
session cookie (api.sessions); every form carries a CSRF token. No JavaScript: every control is a
form that posts and gets a page back."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api import sessions
from api.deps import State
from jobs.config import SourceConfig, StoryConfig
from jobs.sync import source_fields, story_fields
from scraper.core.notify import DEFAULT_EVENTS, EVENT_KINDS, TargetError, check_events, target_kind
from scraper.core.query import QueryError, compile_query
from storage import catalog
from storage import notify as notify_store

router = APIRouter(include_in_schema=False)
WRITES_OFF = "writes are disabled on this server: set STORYTRAIL_API_TOKEN to enable them"


class Form:
    """A posted urlencoded form."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str) -> str:
        return (self.fields.get(name) or [""])[0].strip()

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]


def _render(state: State, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    html = state.templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=code)


def _refuse(state: State, status: int, message: str) -> HTMLResponse:
    return _render(state, "error.html", status, status=status, message=message, path="")


def _session(request: Request, state: State) -> tuple[str, str] | Response:
    """(token, session cookie) of a logged-in writer, else the page to show instead."""
    token = state.settings.api_token
    if not token:
        return _refuse(state, 403, WRITES_OFF)
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    if not sessions.valid_session(token, cookie):
        return RedirectResponse("/login", status_code=303)
    assert cookie is not None
    return token, cookie


async def _posted(request: Request, state: State) -> tuple[str, Form] | Response:
    """The CSRF token for the page to render next and the posted form, after the CSRF check."""
    found = _session(request, state)
    if isinstance(found, Response):
        return found
    token, cookie = found
    form = Form(sessions.form_fields(await request.body()))
    if not sessions.valid_csrf(token, cookie, form.get("csrf")):
        return _refuse(state, 403, "the form's CSRF token is missing or stale: reload the page and try again")
    return sessions.csrf_token(token, cookie), form


# --------------------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_page(state: State) -> Response:
    if not state.settings.api_token:
        return _refuse(state, 403, WRITES_OFF)
    nonce = sessions.login_nonce()
    response = _render(state, "login.html", nonce=nonce, error=None)
    response.set_cookie(
        sessions.LOGIN_COOKIE, nonce, max_age=900, httponly=True, samesite="strict", path="/login"
    )
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, state: State) -> Response:
    token = state.settings.api_token
    if not token:
        return _refuse(state, 403, "writes are disabled on this server")
    form = Form(sessions.form_fields(await request.body()))
    nonce = request.cookies.get(sessions.LOGIN_COOKIE) or ""
    if not nonce or not hmac.compare_digest(nonce, form.get("csrf")):
        return _refuse(state, 403, "the login form is stale: reload it and try again")
    if not hmac.compare_digest(form.get("token").encode(), token.encode()):
        return _render(state, "login.html", 401, nonce=nonce, error="that is not the server's API token")
    response = RedirectResponse("/manage", status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(
        sessions.SESSION_COOKIE, sessions.new_session(token), max_age=sessions.SESSION_SECONDS,
        httponly=True, samesite="strict", secure=secure, path="/",
    )  # fmt: skip
    response.delete_cookie(sessions.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, state: State) -> Response:
    posted = await _posted(request, state)
    if isinstance(posted, Response):
        return posted
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    return response


# --------------------------------------------------------------------------- the manage page


@router.get("/manage", response_class=HTMLResponse)
def manage(request: Request, state: State) -> Response:
    found = _session(request, state)
    if isinstance(found, Response):
        return found
    token, cookie = found
    with Session(state.engine) as db:
        stories = catalog.list_stories(db)
        sources = catalog.list_sources(db)
        targets = notify_store.list_targets(db)
    return _render(
        state, "manage.html", csrf=sessions.csrf_token(token, cookie), stories=stories, sources=sources,
        targets=targets, message=request.query_params.get("done"),
    )  # fmt: skip


def _story_form(state: State, csrf: str, values: dict[str, str], **extra: Any) -> HTMLResponse:
    context = {"csrf": csrf, "values": values, "errors": [], "checked": None, **extra}
    return _render(state, "story_form.html", 422 if context["errors"] else 200, **context)


@router.get("/manage/story", response_class=HTMLResponse)
def story_form(request: Request, state: State, slug: str = "") -> Response:
    found = _session(request, state)
    if isinstance(found, Response):
        return found
    values = {"slug": "", "title": "", "query": "", "seeds": "", "threshold": "0.15", "wayback": ""}
    if slug:
        with Session(state.engine) as db:
            story = catalog.get_story(db, slug=slug)
        values = {"slug": story.slug, "title": story.title, "query": story.query,
                  "seeds": "\n".join(story.seeds),
                  "threshold": str(story.settings.get("threshold", 0.15)),
                  "wayback": "on" if story.settings.get("wayback") else ""}  # fmt: skip
    return _story_form(state, sessions.csrf_token(*found), values)


@router.post("/manage/story", response_class=HTMLResponse)
async def save_story(request: Request, state: State) -> Response:
    posted = await _posted(request, state)
    if isinstance(posted, Response):
        return posted
    csrf, form = posted
    values = {k: form.get(k) for k in ("slug", "title", "query", "threshold", "wayback", "seeds")}
    errors: list[str] = []
    checked = None
    if values["query"]:
        try:
            compile_query(values["query"])
            checked = "the query is valid"
        except QueryError as exc:
            errors.append(str(exc))
    if errors or form.get("action") == "check":
        return _story_form(state, csrf, values, errors=errors, checked=checked)
    seeds = [line.strip() for line in values["seeds"].splitlines() if line.strip()]
    try:
        cfg = StoryConfig(slug=values["slug"], title=values["title"], query=values["query"], seeds=seeds,
                          threshold=float(values["threshold"] or 0.15),
                          wayback=bool(values["wayback"]))  # fmt: skip
    except (ValidationError, ValueError) as exc:
        return _story_form(state, csrf, values, errors=[_first_error(exc)])
    with Session(state.engine) as db:
        _, created = catalog.upsert_story(
            db, slug=cfg.slug, now=state.clock(), **story_fields(cfg, origin="web")
        )
        db.commit()
    verb = "added" if created else "saved"
    return RedirectResponse(f"/manage?done={verb}+story+{cfg.slug}", status_code=303)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        return f"{where}: {e['msg'].removeprefix('Value error, ')}"
    return str(exc)


# --------------------------------------------------------------------------- sources


@router.get("/manage/source", response_class=HTMLResponse)
def source_form(request: Request, state: State) -> Response:
    found = _session(request, state)
    if isinstance(found, Response):
        return found
    values = {"name": "", "url": "", "kind": "feed", "every": "10m", "wayback": ""}
    return _render(
        state, "source_form.html", csrf=sessions.csrf_token(*found), values=values, errors=[], offers=None
    )


@router.post("/manage/source", response_class=HTMLResponse)
async def save_source(request: Request, state: State) -> Response:
    posted = await _posted(request, state)
    if isinstance(posted, Response):
        return posted
    csrf, form = posted
    values = {k: form.get(k) for k in ("name", "url", "kind", "every", "wayback")}
    values["kind"] = values["kind"] or "feed"
    values["every"] = values["every"] or "10m"
    if form.get("action") == "discover":
        return await _discover(state, csrf, values)
    try:
        fields = {k: values[k] for k in ("name", "kind", "url", "every")}
        cfg = SourceConfig.model_validate({**fields, "wayback": bool(values["wayback"])})
    except ValidationError as exc:
        return _render(
            state, "source_form.html", 422, csrf=csrf, values=values, errors=[_first_error(exc)], offers=None
        )
    with Session(state.engine) as db:
        catalog.upsert_source(db, name=cfg.name, now=state.clock(), **source_fields(cfg, origin="web"))
        db.commit()
    return RedirectResponse(f"/manage?done=added+source+{cfg.name}", status_code=303)


async def _discover(state: State, csrf: str, values: dict[str, str]) -> HTMLResponse:
    from jobs.services import open_services
    from scraper.http import FetchError
    from scraper.sources import SourceError
    from scraper.sources.discover import discover_sources

    try:
        async with open_services(state.settings, engine=state.engine, extract_workers=0) as svc:
            found = await discover_sources(svc.fetcher, values["url"])
    except (SourceError, FetchError) as exc:
        return _render(
            state, "source_form.html", 422, csrf=csrf, values=values, errors=[str(exc)], offers=None
        )
    return _render(
        state, "source_form.html", csrf=csrf, values=values, errors=found.warnings, offers=found.offers
    )


# --------------------------------------------------------------------------- notifications


@router.get("/manage/notify", response_class=HTMLResponse)
def notify_form(request: Request, state: State, slug: str = "") -> Response:
    found = _session(request, state)
    if isinstance(found, Response):
        return found
    values = {"slug": slug, "target": "", "min_significance": "", "secret_env": ""}
    return _notify_page(state, sessions.csrf_token(*found), values, list(DEFAULT_EVENTS), [])


def _notify_page(
    state: State, csrf: str, values: dict[str, str], events: list[str], errors: list[str]
) -> HTMLResponse:
    with Session(state.engine) as db:
        slugs = [s.slug for s in catalog.list_stories(db)]
    return _render(state, "notify_form.html", 422 if errors else 200, csrf=csrf, values=values,
                   kinds=EVENT_KINDS, chosen=set(events), slugs=slugs, errors=errors)  # fmt: skip


@router.post("/manage/notify", response_class=HTMLResponse)
async def save_notify(request: Request, state: State) -> Response:
    posted = await _posted(request, state)
    if isinstance(posted, Response):
        return posted
    csrf, form = posted
    values = {k: form.get(k) for k in ("slug", "target", "min_significance", "secret_env")}
    events = form.all("events")
    try:
        kind = target_kind(values["target"])
        kinds = check_events(events)
        minimum = float(values["min_significance"]) if values["min_significance"] else None
        if minimum is not None and not 0 <= minimum <= 1:
            raise TargetError("the minimum significance is between 0 and 1")
    except (TargetError, ValueError) as exc:
        return _notify_page(state, csrf, values, events, [str(exc)])
    with Session(state.engine) as db:
        story = catalog.find_story(db, slug=values["slug"])
        if story is None or story.id is None:
            return _notify_page(state, csrf, values, events, [f"no story with slug {values['slug']!r}"])
        notify_store.add_target(db, story_id=story.id, target=values["target"], kind=kind, now=state.clock(),
                                events=kinds, min_significance=minimum,
                                secret_env=values["secret_env"] or None, origin="web")  # fmt: skip
        db.commit()
    return RedirectResponse(f"/manage?done=subscribed+{values['slug']}", status_code=303)
