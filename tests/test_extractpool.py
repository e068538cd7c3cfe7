"""The extraction pool: workers recycled after their share of tasks; the main process stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scraper.extractpool import ExtractorPool
from tests.conftest import ROOT

BODY = "Text of the story. " * 30
PAGE = f"<html><head><title>Recycled</title></head><body><p>{BODY}</p></body></html>"


async def test_workers_are_replaced_after_max_tasks_each() -> None:
    seen: set[int] = set()
    async with ExtractorPool(1, max_tasks=2) as pool:
        for _ in range(6):
            assert (await pool.extract(PAGE, None)).content.title == "Recycled"
            assert pool._executor is not None  # white-box: which worker processes exist now
            seen |= set(pool._executor._processes)
    assert len(seen) >= 3, f"6 tasks at 2 per worker ran in {len(seen)} worker(s)"


def test_max_tasks_is_checked() -> None:
    with pytest.raises(ValueError, match="max_tasks must be 1"):
        ExtractorPool(1, max_tasks=0)


def test_the_main_process_never_imports_trafilatura() -> None:
    code = (
        "import asyncio, sys\n"
        "from scraper.extractpool import ExtractorPool\n"
        "async def go():\n"
        "    async with ExtractorPool(1) as pool:\n"
        f"        await pool.extract({PAGE!r}, None)\n"
        "asyncio.run(go())\n"
        "print(sorted(m for m in ('trafilatura', 'htmldate', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
