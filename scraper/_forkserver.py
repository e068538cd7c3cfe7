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

    from scraper.core.extract import extract
    from scraper.lifeline import die_with_parent

    spawn._fixup_main_from_path = _skip_main  # type: ignore[attr-defined]
    spawn._fixup_main_from_name = _skip_main  # type: ignore[attr-defined]
    extract(WARM_UP_PAGE)
    gc.collect()
    gc.freeze()
    die_with_parent()


WARM_UP_PAGE = (
    "<html><head><title>warm-up</title><meta name='author' content='A. Writer'></head><body><article>"
    + "".join(f"<p>Paragraph {i} warms the extractor up with a few sentences of text.</p>" for i in range(8))
    + "</article></body></html>"
)

if _in_forkserver():
    _prepare()
