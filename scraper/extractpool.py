"""Extraction off the event loop: a process pool running ``scraper.core.extract.extract``.

trafilatura is CPU-bound, so extraction runs in worker processes (every core used, the event
loop never blocks). Workers start with "forkserver" where the platform has it, else "spawn":
never "fork", which copies the parent's threads and locks mid-flight. ``workers=0`` extracts
inline, in the calling thread (tests, one-shot CLI).

Memory: the forkserver imports trafilatura and warms it up once (``scraper._forkserver``), so the
workers it forks share those pages copy-on-write and the main process never imports trafilatura
at all; the workers are replaced after ``max_tasks`` extractions each, so what they leak or
fragment is given back (a new executor takes the next tasks while the old one finishes its own:
``max_tasks_per_child`` hangs on Python 3.12.1). Lifetime: the forkserver and every worker die
with their parent, SIGKILL included (``scraper.lifeline``), and multiprocessing's resource
tracker exits once they are gone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.forkserver
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from types import TracebackType

from scraper.core.extract import ExtractionError, extract
from scraper.core.types import Extracted
from scraper.lifeline import follow

MAX_TASKS_PER_WORKER = 250  # then the worker is replaced by a fresh fork of the warm forkserver
_PRELOAD = ["scraper._forkserver"]


class WorkerCrashedError(ExtractionError):
    """A worker process died while extracting (the pool is rebuilt for the next call)."""


def _start_worker(parent_pid: int, warm_up: bool) -> None:
    """Worker initializer: die with the parent; warm up where no forkserver did it already."""
    follow(parent_pid)
    if warm_up:
        from scraper._forkserver import WARM_UP_PAGE

        extract(WARM_UP_PAGE)


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ExtractorPool:
    """``await pool.extract(html, url)`` in a process pool of ``workers`` processes (0: inline)."""

    def __init__(self, workers: int, *, max_tasks: int = MAX_TASKS_PER_WORKER) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 (extract inline) or more, got {workers}")
        if max_tasks < 1:
            raise ValueError(f"max_tasks must be 1 or more, got {max_tasks}")
        self.workers = workers
        self.max_tasks = max_tasks
        self._closed = False
        self._submitted = 0  # tasks given to the current executor
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor | None:
        if self.workers == 0:
            return None
        method = _start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(_PRELOAD)
            if threading.current_thread() is threading.main_thread():
                # started now, from the thread that lives as long as the process: the forkserver's
                # parent-death signal fires when the thread that started it ends
                multiprocessing.forkserver.ensure_running()
        return ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(), method != "forkserver"),
        )

    async def extract(
        self, html: str | bytes, url: str | None, remove_selectors: Sequence[str] = ()
    ) -> Extracted:
        """Extract in a worker; raises what ``extract`` raises, or ``WorkerCrashedError``."""
        if self._closed:
            raise RuntimeError("this ExtractorPool is closed")
        call = partial(extract, html, url, remove_selectors=tuple(remove_selectors))
        if self._executor is None:
            return call()
        executor = self._next_executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except BrokenProcessPool as error:
            self._replace(executor)
            raise WorkerCrashedError(url, f"the extraction worker died ({error})") from error

    def _next_executor(self) -> ProcessPoolExecutor:
        """The executor for the next task: a fresh one once this one has had its share."""
        assert self._executor is not None
        if self._submitted >= self.max_tasks * self.workers:
            old, self._executor, self._submitted = self._executor, self._new_executor(), 0
            old.shutdown(wait=False)  # its workers finish what they hold, then exit
            assert self._executor is not None
        self._submitted += 1
        return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor, self._submitted = self._new_executor(), 0

    def close(self) -> None:
        """Stop the workers (waits for running extractions); the pool cannot be used after."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._closed = True

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> ExtractorPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
