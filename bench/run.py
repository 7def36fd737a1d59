"""Run every benchmark under bench/ and write bench/RESULTS.md.

Each benchmark is a module `bench/bench_*.py` with `run() -> str` returning a Markdown section.
`make bench` runs them all; `python bench/run.py NAME ...` runs some (e.g. `api_throughput`).
PostgreSQL is used when BENCH_DATABASE_URL is set, else a throwaway database
`loyalty_bench` on the local server (postgres@127.0.0.1:5432, created and dropped here)."""

from __future__ import annotations

import importlib
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    sections = []
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.monotonic()
        print(f"==> {name}", flush=True)
        section = module.run()
        print(section, flush=True)
        sections.append(section + f"\n\n_Benchmark wall time: {time.monotonic() - started:.0f} s._\n")
    results = ROOT / "bench" / "RESULTS.md"
    header = (
        "# Benchmark results\n\n"
        f"Written by `make bench` (`.venv/bin/python bench/run.py`), or section by section with\n"
        f"`.venv/bin/python bench/run.py NAME`; last written on {time.strftime('%Y-%m-%d')}, {machine()}.\n"
        "Each section names the command that reproduces it alone.\n"
    )
    existing = results.read_text() if results.exists() and argv else ""
    # Running a subset replaces only those sections, each in its place, and keeps the others.
    by_title = {section.removeprefix("## ").split("\n", 1)[0]: section for section in sections}
    merged = []
    for chunk in existing.split("\n## ")[1:]:
        title = chunk.split("\n", 1)[0]
        merged.append(by_title.pop(title, "## " + chunk.rstrip() + "\n"))
    merged += by_title.values()
    results.write_text(header + "\n" + "\n".join(merged))
    print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
