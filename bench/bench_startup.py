"""Start-up cost of the command line: whole processes, CPU seconds (user + system) per run.

Each command runs RUNS times, interleaved with the reference ``python -c pass`` (so a change in the
machine's load moves both), after one warm-up run that fills the bytecode cache. CPU time is the
operating system's accounting of the finished child (``os.wait4``). Targets (issue 15): ``storytrail
--help`` and ``storytrail versions URL`` each under 0.3 s of CPU on 2 cores.

python -m bench.bench_startup      # prints the table; `python -m bench.run startup` writes RESULTS.md
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
PYTHON = sys.executable
STORYTRAIL = str(Path(sys.executable).parent / "storytrail")
TARGET = 0.3


def cpu_seconds(argv: list[str], cwd: str) -> tuple[float, float]:
    """(cpu, wall) seconds of one whole process."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, time.monotonic() - start


def _demo_archive(folder: str) -> tuple[str, str]:
    """A small archive to read: the demo, run once on its own file."""
    db = f"sqlite:///{folder}/bench.db"
    env = {**os.environ, "STORYTRAIL_EXTRACT_WORKERS": "0"}
    subprocess.run([STORYTRAIL, "demo", "--port", "0", "--db", db], cwd=folder, env=env,
                   check=True, capture_output=True)  # fmt: skip
    listing = subprocess.run([STORYTRAIL, "stories", "show", "valdai-residence-claim", "--json", "--db", db],
                             cwd=folder, check=True, capture_output=True, text=True)  # fmt: skip
    import json

    url = json.loads(listing.stdout)["documents"][0]["url"]
    return db, url


def measure() -> list[tuple[str, float, float, float]]:
    """(label, median cpu, median wall, median ratio to python -c pass) per command."""
    with tempfile.TemporaryDirectory() as folder:
        db, url = _demo_archive(folder)
        commands = {
            "python -c pass (reference)": [PYTHON, "-c", "pass"],
            "storytrail --help": [STORYTRAIL, "--help"],
            "storytrail --version": [STORYTRAIL, "--version"],
            "storytrail versions URL": [STORYTRAIL, "versions", url, "--db", db],
            "python -c 'import sqlmodel' (the ORM alone)": [PYTHON, "-c", "import sqlmodel"],
        }
        for argv in commands.values():  # warm-up: bytecode caches, page cache
            cpu_seconds(argv, folder)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        ratios: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(RUNS):
            reference, _ = cpu_seconds(commands["python -c pass (reference)"], folder)
            for label, argv in commands.items():
                cpu, wall = cpu_seconds(argv, folder)
                samples[label].append((cpu, wall))
                ratios[label].append(cpu / reference if reference else float("nan"))
    return [
        (label, statistics.median(c for c, _ in s), statistics.median(w for _, w in s),
         statistics.median(ratios[label]))
        for label, s in samples.items()
    ]  # fmt: skip


def load() -> str:
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def run() -> str:
    before = load()
    rows = measure()
    after = load()
    lines = [
        f"Whole processes, median of {RUNS} runs each, interleaved with `python -c pass`; CPU = user + "
        f"system of the child (os.wait4). Machine {before} before, {after} after.",
        "",
        "| command | CPU s (median) | wall s (median) | CPU vs `python -c pass` | target |",
        "|---|---|---|---|---|",
    ]
    for label, cpu, wall, ratio in rows:
        target = (
            f"< {TARGET} s: {'met' if cpu < TARGET else 'NOT met'}" if label.startswith("storytrail") else ""
        )
        lines.append(f"| `{label}` | {cpu:.3f} | {wall:.3f} | {ratio:.1f}x | {target} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
