"""The extraction forkserver's preload (``scraper.extractpool``); a no-op anywhere else.

Imported in the forkserver before it forks any worker: it imports trafilatura and runs one
extraction (lazy imports, compiled patterns), freezes what that allocated out of the garbage
collector's reach (so the workers share those pages copy-on-write instead of each touching its
own copy), and asks the kernel to kill the forkserver when the process that started it dies.

It also stops the workers from re-running the parent's main module (multiprocessing does that
for every child so that functions defined there can be unpickled): for ``storytrail`` that is
the whole CLI, ~1 s and ~40 MB per worker for nothing, since the pool only ever sends
``scraper.core.extract.extract``. Children of this forkserver run extraction tasks only.
"""

from __future__ import annotations

import gc
import sys


def _in_forkserver() -> bool:
    # multiprocessing starts it as ``python -c 'from multiprocessing.forkserver import main; ...'``
    return sys.argv == ["-c"] and "multiprocessing.forkserver" in sys.modules


def _skip_main(_: str) -> None:
    """Stands in for multiprocessing's re-import of the parent's ``__main__`` in a child."""


def _prepare() -> None:
    from multiprocessing import spawn

    import scraper.extractpool  # noqa: F401 - what the workers unpickle their tasks from
    from scraper.core.extract import extract
    from scraper.lifeline import die_with_parent

    spawn._fixup_main_from_path = _skip_main  # type: ignore[attr-defined]
    spawn._fixup_main_from_name = _skip_main  # type: ignore[attr-defined]
    extract(WARM_UP_PAGE)
    _load_lazy_tables()
    gc.collect()
    gc.freeze()
    die_with_parent()


# Dates as pages write them, in the corpus's languages: each makes dateparser load its tables.
_DATES = ("3. Dezember 2025", "3 grudnia 2025", "December 3, 2025", "3 décembre 2025",
          "3 de diciembre de 2025", "3 dicembre 2025", "3 декабря 2025", "3 december 2025")  # fmt: skip


def _load_lazy_tables() -> None:
    """Tables trafilatura and htmldate build on first use (justext's stoplists of every language,
    dateparser's month names and language dictionaries): ~40 MB a worker would otherwise build
    for itself on its first pages, loaded once here and shared."""
    from htmldate.extractors import get_external_parser, month_words
    from justext.core import define_stoplist
    from trafilatura import external

    # trafilatura hands justext one 154,000-word tuple of every language's stop words; justext
    # lower-cases it into a frozenset (lru_cache keyed by the tuple: 21 MB, built by each worker
    # on its first justext page, and the tuple re-hashed on every call, 2 ms). As a frozenset the
    # key caches its hash, and the set justext builds from it is made here, once, and shared.
    words = external.JT_STOPLIST or external.jt_stoplist_init()
    external.JT_STOPLIST = frozenset(words)  # type: ignore[assignment]
    define_stoplist(external.JT_STOPLIST)
    month_words()
    parser = get_external_parser()
    for text in _DATES:
        parser.get_date_data(text)


WARM_UP_PAGE = (
    "<html><head><title>warm-up</title><meta name='author' content='A. Writer'></head><body><article>"
    + "".join(f"<p>Paragraph {i} warms the extractor up with a few sentences of text.</p>" for i in range(8))
    + "</article></body></html>"
)

if _in_forkserver():
    _prepare()
