"""Extraction off the event loop: a process pool running ``scraper.core.extract.extract``.

trafilatura is CPU-bound, so extraction runs in worker processes (every core used, the event
loop never blocks). Workers start with "forkserver" where the platform has it, else "spawn":
never "fork", which copies the parent's threads and locks mid-flight. ``workers=0`` extracts
inline, in the calling thread (tests, one-shot CLI).

Memory: the forkserver imports trafilatura and warms it up once (``scraper._forkserver``), so the
workers it forks share those pages copy-on-write and the main process never imports trafilatura
at all; after each task a worker hands its heap's free pages back to the kernel (glibc
``malloc_trim``), and the workers are replaced after ``max_tasks`` extractions each, so what they
leak or fragment is given back (a new executor takes the next tasks while the old one finishes
its own: ``max_tasks_per_child`` hangs on Python 3.12.1). Lifetime: the forkserver and every worker die
with their parent, SIGKILL included (``scraper.lifeline``), and multiprocessing's resource
tracker exits once they are gone.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache, partial
from types import TracebackType
from typing import TypeVar

from scraper.core.charset import decode_html
from scraper.core.extract import ExtractionError, extract
from scraper.core.packing import pack
from scraper.core.types import Extracted
from scraper.lifeline import follow

_T = TypeVar("_T")
MAX_TASKS_PER_WORKER = 250  # then the worker is replaced by a fresh fork of the warm forkserver
_PRELOAD = ["scraper._forkserver"]


class WorkerCrashedError(ExtractionError):
    """A worker process died while extracting (the pool is rebuilt for the next call)."""


@dataclass(frozen=True, slots=True)
class PageExtraction:
    """A fetched page as a worker read it: its extraction, its encoding, its packed raw body."""

    extracted: Extracted
    encoding: str
    packed: bytes  # ``scraper.core.packing.pack(body)``, for the blob store


def extract_page(
    body: bytes, content_type: str | None, url: str | None, remove_selectors: Sequence[str] = ()
) -> PageExtraction:
    """Decode, extract and pack one raw body (all the CPU work of a new page, in one process)."""
    text, encoding = decode_html(body, content_type)
    extracted = extract(text, url, remove_selectors=remove_selectors)
    return PageExtraction(extracted, encoding, pack(body))


def _in_worker(call: Callable[[], _T]) -> _T:
    """One task in a worker, then the heap's free pages handed back to the kernel: glibc keeps
    what a large page's trees freed (measured on the bench's 300 pages, one process: peak RSS
    190 -> 174 MB, 0.1 ms a call)."""
    try:
        return call()
    finally:
        _trim_heap()


def _trim_heap() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None on a C library without it (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


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
            # the forkserver starts with the first task (none for a run that only confirms pages),
            # from the thread that submits it: the event loop's, which lives as long as the process
            # (the forkserver's parent-death signal fires when the thread that started it ends)
            context.set_forkserver_preload(_PRELOAD)
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
        return await self._run(partial(extract, html, url, remove_selectors=tuple(remove_selectors)), url)

    async def extract_page(
        self, body: bytes, content_type: str | None, url: str | None, remove_selectors: Sequence[str] = ()
    ) -> PageExtraction:
        """``extract_page`` in a worker: the main process neither decodes, extracts nor compresses."""
        call = partial(extract_page, body, content_type, url, tuple(remove_selectors))
        return await self._run(call, url)

    async def _run(self, call: partial[_T], url: str | None) -> _T:
        if self._closed:
            raise RuntimeError("this ExtractorPool is closed")
        if self._executor is None:
            return call()
        executor = self._next_executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, partial(_in_worker, call))
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
