"""The Excel import of customer lists against the budget of issue 7: a 100,000-row workbook
imported in at most 3 times what openpyxl (read-only mode) takes just to read it, with a peak
memory under 500 MB, on PostgreSQL.

Scenarios, each `manage.py import_members` in its own process (timed inside it, from the
command's start to its end, Django start-up excluded; peak RSS of that process):
- fresh: 100,000 new members (name, phone typed as a number, birthday as a date cell, email,
  gender, card number);
- all updates: the same 100,000 people enrolled beforehand with name and phone only, then the
  full workbook fills their email, birthday, gender and card (100,000 updated rows);
- unchanged: the fresh workbook imported again;
- opening balances: a smaller workbook whose every row carries points and their earning date,
  credited one by one through the ledger service (the per-row cost is reported).
Reproduce alone: `.venv/bin/python bench/run.py member_import`."""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import bench_env, manage, pg_database

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
BALANCE_ROWS = int(os.environ.get("BENCH_IMPORT_BALANCE_ROWS", "2000"))
HEADERS = ["Họ và tên", "Số điện thoại", "Ngày sinh", "Email", "Giới tính", "Mã thẻ"]

_TIMED = """
import json, resource, time
from django.core.management import call_command
started = time.perf_counter()
cpu_before = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
try:
    call_command("import_members", {path!r}, "--skip-invalid")
finally:
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    print("BENCH " + json.dumps({{"seconds": seconds, "cpu": cpu, "rss_mb": usage.ru_maxrss / 1024}}))
"""


def _workbook(path: Path, rows: int, *, first_phone: int, full: bool = True, balances: bool = False) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    headers = HEADERS if full else HEADERS[:2]
    if balances:
        headers = [*headers, "Điểm đầu kỳ", "Ngày tích điểm"]
    sheet.append(headers)
    earned = datetime.date.today() - datetime.timedelta(days=60)
    for i in range(rows):
        row = [f"Nguyễn Văn Khách {i}", first_phone + i]  # a number: the leading 0 is lost
        if full:
            row += [
                datetime.date(1960 + i % 45, 1 + i % 12, 1 + i % 28),
                f"khach{first_phone + i}@example.vn",
                ("Nam", "Nữ", "Khác")[i % 3],
                f"TH{first_phone + i}",
            ]
        if balances:
            row += [100 + i % 900, earned]
        sheet.append(row)
    book.save(path)


def _read_seconds(path: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for openpyxl to read every value of the file."""
    import openpyxl

    started, cpu = time.perf_counter(), time.process_time()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for _row in book.active.iter_rows(values_only=True):
        pass
    book.close()
    return time.perf_counter() - started, time.process_time() - cpu


def _import(env: dict[str, str], path: Path) -> dict[str, float]:
    out = manage(env, "shell", "-c", _TIMED.format(path=str(path)), capture=True)
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fresh, slim, full_update, balances = (
            folder / "fresh.xlsx",
            folder / "slim.xlsx",
            folder / "update.xlsx",
            folder / "balances.xlsx",
        )
        _workbook(fresh, ROWS, first_phone=912_000_000)
        _workbook(slim, ROWS, first_phone=913_000_000, full=False)
        _workbook(full_update, ROWS, first_phone=913_000_000)
        _workbook(balances, BALANCE_ROWS, first_phone=914_000_000, full=False, balances=True)
        size_mb = fresh.stat().st_size / 1024 / 1024

        with pg_database(f"loyalty_bench_{uuid.uuid4().hex[:8]}") as url:
            env = bench_env(url, MEDIA_ROOT=str(folder / "media"))
            manage(env, "migrate", "--noinput", "-v0")
            # Each import is compared with a read of the same file made just before it, so that a
            # change in the machine's load between the two counts as little as possible.
            reads = {"fresh": _read_seconds(fresh)}
            results = {"fresh": _import(env, fresh)}
            _import(env, slim)
            reads["all updates"] = _read_seconds(full_update)
            results["all updates"] = _import(env, full_update)
            reads["unchanged (fresh file again)"] = _read_seconds(fresh)
            results["unchanged (fresh file again)"] = _import(env, fresh)
            results["opening balances"] = _import(env, balances)

    def row(label: str, name: str, rows: int, base: tuple[float, float] | None) -> str:
        outcome = results[name]
        wall = f"{outcome['seconds'] / base[0]:.2f}x" if base else "—"
        cpu = f"{outcome['cpu'] / base[1]:.2f}x" if base else "—"
        return (
            f"| {label} | {rows:,} | {outcome['seconds']:.1f} | **{wall}** | {outcome['cpu']:.1f} | {cpu} | "
            f"{outcome['rss_mb']:.0f} |"
        )

    lines = [
        "## Excel import of customer lists (PostgreSQL)",
        "",
        f"`.venv/bin/python bench/run.py member_import` — a {ROWS:,}-row workbook ({size_mb:.1f} MB: name, "
        "phone typed as a number, birthday as a date cell, email, gender, card number). Budget (issue 7): "
        "import <= 3x openpyxl's read-only reading time, peak memory < 500 MB.",
        "",
        "Each import is compared with openpyxl (read-only, values only) just reading the same file, "
        "measured right before it: "
        + ", ".join(f"{name} {wall:.1f} s wall / {cpu:.1f} s CPU" for name, (wall, cpu) in reads.items())
        + ". The process CPU is given too: on a shared machine it is the figure other work disturbs least.",
        "",
        "| scenario | rows | import s | x read (wall) | import CPU s | x read (CPU) | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("fresh: all new members", "fresh", ROWS, reads["fresh"]),
        row(
            "all updates: empty fields filled, cards added",
            "all updates",
            ROWS,
            reads["all updates"],
        ),
        row(
            "unchanged: the fresh file again",
            "unchanged (fresh file again)",
            ROWS,
            reads["unchanged (fresh file again)"],
        ),
        row(
            "opening balances on every row (ledger service, one posting per member)",
            "opening balances",
            BALANCE_ROWS,
            None,
        ),
        "",
        f"- Opening balances cost about {1000 * results['opening balances']['seconds'] / BALANCE_ROWS:.1f} ms per "
        "row (one locked `points_earn` each); a bulk credit service in `members` would remove that.",
    ]
    return "\n".join(lines)
