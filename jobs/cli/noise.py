"""`storytrail noise show SITE` and `storytrail noise accept SITE [RULE]`: ignore rules learnt
from a site's own history (scraper.core.noise), proposed, accepted, then applied to the stored
versions by re-extraction (kind `reextracted`, never counted as publisher edits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from jobs.cli.common import ConfigOpt, DbOpt, JsonOpt, context, err, fail, out, print_json, ready_engine, run

if TYPE_CHECKING:
    from storage.models import NoiseRule

noise_app = typer.Typer(
    help="Noise learnt per site: volatile boxes proposed as ignore rules.", no_args_is_help=True
)
SiteArg = Annotated[str, typer.Argument(help="The site: a host name such as news.example (www. ignored).")]


def register(app: typer.Typer) -> None:
    app.add_typer(noise_app, name="noise")


@noise_app.command("show")
def show(site: SiteArg, db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Learn the site's noise from its stored versions and list the proposed and accepted rules."""
    from rich.table import Table
    from sqlmodel import Session

    from jobs.clock import utcnow
    from scraper.core.noise import propose
    from storage import noise

    ctx = context(db, config)
    engine = ready_engine(ctx)
    with Session(engine, expire_on_commit=False) as session:
        histories = noise.site_histories(session, site=site)
        if not histories:
            fail(f"no archived pages from {site}: check a page of it first", 1)
        rules = noise.store_proposals(session, site=site, proposals=propose(histories), now=utcnow())
        session.commit()
    versions = sum(len(v) for v in histories.values())
    if as_json:
        print_json({"site": site, "pages": len(histories), "versions": versions,
                    "rules": [_rule_json(r) for r in rules]})  # fmt: skip
        return
    out.print(f"{site}: {len(histories)} pages, {versions} page versions", highlight=False)
    if not rules:
        out.print("no noise found: nothing changes on many pages at once or on nearly every fetch")
        return
    table = Table("id", "status", "rule", "scope", "pages", "changes", "false versions", "example")
    for r in rules:
        table.add_row(str(r.id), r.status, escape(r.rule), r.scope, str(r.pages), str(r.changes),
                      str(r.false_versions), escape(r.examples[0] if r.examples else ""))  # fmt: skip
    out.print(table)
    out.print("accept with `storytrail noise accept SITE [ID]`", highlight=False)


@noise_app.command("accept")
def accept(
    site: SiteArg,
    rule: Annotated[
        str | None, typer.Argument(help="A rule's id or text (default: every proposed rule).")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Accept noise rules: they join the site's ignore rules, and its pages are re-extracted."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from storage import noise

    ctx = context(db, config)
    engine = ready_engine(ctx)
    with Session(engine, expire_on_commit=False) as session:
        accepted = noise.accept_rules(session, site=site, rule=rule, now=utcnow())
        ids = [doc.id for doc in noise.site_documents(session, site=site) if doc.id is not None]
        session.commit()
    reports = run(_reextract(ctx, engine, ids))
    changed = sum(1 for r in reports if r is not None and r.outcome.value == "new_version")
    if as_json:
        print_json({"site": site, "accepted": [_rule_json(r) for r in accepted], "documents": len(ids),
                    "reextracted": changed})  # fmt: skip
        return
    for r in accepted:
        out.print(f"accepted {escape(r.rule)} for {site}", highlight=False)
    err.print(f"{len(ids)} documents of {site} re-extracted, {changed} gave new text (kind reextracted)")


async def _reextract(ctx: Any, engine: Any, ids: list[int]) -> list[Any]:
    from jobs.capture import reextract_document
    from jobs.services import open_services

    async with open_services(ctx.settings, engine=engine) as svc:
        return [await reextract_document(svc, i, force=True) for i in ids]


def _rule_json(r: NoiseRule) -> dict[str, Any]:
    accepted = r.accepted_at.isoformat() if r.accepted_at else None
    return {"id": r.id, "site": r.site, "rule": r.rule, "scope": r.scope, "status": r.status,
            "pages": r.pages, "changes": r.changes, "false_versions": r.false_versions,
            "examples": r.examples, "reason": r.reason, "accepted_at": accepted}  # fmt: skip
