"""Tables for people and for pipes.

At a terminal a table fits the window: URLs wrap whole (never cut), titles and other long text are
shortened with an ellipsis (``show`` gives them whole). Piped or redirected, the same rows are
tab-separated values with every value in full, one row a line, so ``cut``, ``awk`` and spreadsheets
read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Kind = Literal["text", "url", "title", "number", "fixed"]


@dataclass(frozen=True)
class Col:
    """A column: ``url`` wraps whole, ``title`` is cut with an ellipsis, ``number`` aligns right,
    ``fixed`` never wraps (times, short codes), ``text`` wraps at word boundaries."""

    name: str
    kind: Kind = "text"
    max_width: int | None = None


def tsv_cell(value: str) -> str:
    return " ".join(value.replace("\t", " ").split()) if value else ""


def tsv_lines(columns: Sequence[Col], rows: Iterable[Sequence[str]], title: str | None = None) -> list[str]:
    lines = [f"# {tsv_cell(title)}"] if title else []
    lines.append("\t".join(c.name for c in columns))
    lines += ["\t".join(tsv_cell(str(v)) for v in row) for row in rows]
    return lines


def print_table(
    columns: Sequence[Col | str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """Print ``rows`` (plain strings, no markup) as a table at a terminal, else as TSV."""
    import sys

    from jobs.cli.common import out

    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    target = console or out
    if not target.is_terminal:
        sys.stdout.write("\n".join(tsv_lines(cols, rows, title)) + "\n")
        return
    target.print(_rich_table(cols, rows, title))


def _rich_table(cols: list[Col], rows: Iterable[Sequence[str]], title: str | None) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for c in cols:
        if c.kind == "url":
            table.add_column(c.name, overflow="fold", min_width=12, max_width=c.max_width)
        elif c.kind == "title":  # cut in the cell (below), so the column can shrink to fit
            table.add_column(c.name, overflow="ellipsis", max_width=c.max_width or 48)
        elif c.kind == "number":
            table.add_column(c.name, justify="right", no_wrap=True)
        elif c.kind == "fixed":
            table.add_column(c.name, no_wrap=True)
        else:
            table.add_column(c.name, overflow="fold", max_width=c.max_width)
    for row in rows:
        cells = []
        for c, v in zip(cols, row, strict=False):
            cut = c.kind == "title"
            cells.append(Text(str(v), no_wrap=cut, overflow="ellipsis" if cut else None))
        table.add_row(*cells)
    return table
