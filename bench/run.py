"""Runs the benchmarks and writes bench/RESULTS.md (machine and date included).

python -m bench.run                 # every benchmark
python -m bench.run pipeline diff   # some of them; other sections of RESULTS.md are kept
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BENCHES = (
    "capture", "pipeline", "diff", "matching", "languages", "noise", "daemon", "search", "api", "scale",
    "scaleout", "startup", "wayback",
)  # fmt: skip


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.machine()}"
    return f"{system}, {os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}"


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"(?m)^(?=## )", text)
    return {p.splitlines()[0][3:].strip(): p.rstrip() + "\n" for p in parts if p.startswith("## ")}


def main(names: list[str]) -> None:
    chosen = names or list(BENCHES)
    unknown = [n for n in chosen if n not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHES)}")
    kept = sections(RESULTS.read_text()) if RESULTS.exists() else {}
    kept_order = list(kept)
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    for name in chosen:
        try:
            module = importlib.import_module(f"bench.bench_{name}")
        except ModuleNotFoundError:
            print(f"(no benchmark bench/bench_{name}.py yet)")
            continue
        print(f"running {name} ...", flush=True)
        body = module.run()
        kept[name] = f"## {name}\n\n_{stamp} · {machine()}_\n\n{body.strip()}\n"
        print(body)
    # every section keeps its place, hand-written ones too ("scale, bulk load ..."); new ones go last
    order = list(dict.fromkeys([*kept_order, *(n for n in BENCHES if n in kept)]))
    head = (
        "# Benchmark results\n\nWritten by `make bench` (`python -m bench.run`); "
        "each section says when and where it ran.\n\n"
    )
    RESULTS.write_text(head + "\n".join(kept[n] for n in order))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
