"""Extraction off the event loop: a process pool running ``scraper.core.extract.extract``.

trafilatura is CPU-bound, so extraction runs in worker processes (every core used, the event
loop never blocks). Workers start with "forkserver" where the platform has it, else "spawn":
never "fork", which copies the parent's threads and locks mid-flight. Each worker warms
trafilatura up once. ``workers=0`` extracts inline, in the calling thread (tests, one-shot CLI).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from types import TracebackType

from scraper.core.extract import ExtractionError, extract
from scraper.core.types import Extracted

_WARM_UP_PAGE = "<html><head><title>warm-up</title></head><body><p>Warm up the extractor.</p></body></html>"


class WorkerCrashedError(ExtractionError):
    """A worker process died while extracting (the pool is rebuilt for the next call)."""


def _warm_up() -> None:
    """Worker initializer: import trafilatura and run it once, so the first real page is not slow."""
    extract(_WARM_UP_PAGE)


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ExtractorPool:
    """``await pool.extract(html, url)`` in a process pool of ``workers`` processes (0: inline)."""

    def __init__(self, workers: int) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 (extract inline) or more, got {workers}")
        self.workers = workers
        self._closed = False
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor | None:
        if self.workers == 0:
            return None
        context = multiprocessing.get_context(_start_method())
        if isinstance(context, multiprocessing.context.ForkServerContext):
            context.set_forkserver_preload(["scraper.core.extract"])  # import trafilatura once
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_warm_up)

    async def extract(
        self, html: str | bytes, url: str | None, remove_selectors: Sequence[str] = ()
    ) -> Extracted:
        """Extract in a worker; raises what ``extract`` raises, or ``WorkerCrashedError``."""
        if self._closed:
            raise RuntimeError("this ExtractorPool is closed")
        call = partial(extract, html, url, remove_selectors=tuple(remove_selectors))
        if self._executor is None:
            return call()
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except BrokenProcessPool as error:
            self._replace(executor)
            raise WorkerCrashedError(url, f"the extraction worker died ({error})") from error

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()

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
