"""A batch of 100,000 printed voucher codes generated and exported to CSV on PostgreSQL (issue
16: at most 10 s). A throwaway database is migrated and the demo catalogue loaded; then, in a
fresh `manage.py shell` process that times itself: `voucher_batch_create` (codes drawn in bulk,
checked against the codes already stored with one array query, written with COPY) and
`voucher_batch_export_csv` (read in chunks, the export recorded), then
`voucher_batch_export_xlsx` (openpyxl write-only, to a temporary file, as the admin's download
does; read back with openpyxl to count the rows). Run twice, so the second batch
is drawn against the 100,000 codes of the first.

Reproduce alone: `.venv/bin/python bench/run.py voucher_batch`."""

from __future__ import annotations

import json
import os

from bench.harness import bench_env, manage, pg_database

COUNT = int(os.environ.get("BENCH_BATCH_SIZE", "100000"))
# A database name of one's own when several people bench on one server.
DATABASE = os.environ.get("BENCH_BATCH_DATABASE", "loyalty_bench_batch")

MEASURE = """
import json, tempfile, time
from openpyxl import load_workbook
from vouchers.demo import demo_vouchers_load
from stores.demo import demo_stores_load
from vouchers.models import BatchCode, Reward
from vouchers.services import voucher_batch_create, voucher_batch_export_csv, voucher_batch_export_xlsx

demo_stores_load()
demo_vouchers_load()
reward = Reward.objects.get(code="CASH50K")
started = time.perf_counter()
batch = voucher_batch_create(reward=reward, count=__COUNT__, name="bench")
created = time.perf_counter()
text = voucher_batch_export_csv(batch=batch)
done = time.perf_counter()
with tempfile.TemporaryFile() as handle:
    xlsx_rows = voucher_batch_export_xlsx(batch=batch, target=handle)
    xlsx_done = time.perf_counter()
    xlsx_bytes = handle.tell()
    handle.seek(0)
    xlsx_lines = sum(1 for _row in load_workbook(handle, read_only=True).active.iter_rows(values_only=True))
print("RESULT " + json.dumps({
    "create_s": round(created - started, 2),
    "export_s": round(done - created, 2),
    "total_s": round(done - started, 2),
    "xlsx_s": round(xlsx_done - done, 2),
    "xlsx_total_s": round(created - started + xlsx_done - done, 2),
    "xlsx_mb": round(xlsx_bytes / 1e6, 1),
    "xlsx_lines": xlsx_lines,
    "codes": BatchCode.objects.filter(batch=batch).count(),
    "csv_lines": text.count("\\n"),
}))
"""


def run() -> str:
    rows = []
    with pg_database(DATABASE) as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput")
        for attempt in (1, 2):
            out = manage(env, "shell", "-c", MEASURE.replace("__COUNT__", str(COUNT)), capture=True)
            result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
            rows.append((attempt, result))
    lines = [
        f"## Voucher batch: {COUNT:,} printed codes generated and exported (PostgreSQL)",
        "",
        "Command: `.venv/bin/python bench/run.py voucher_batch`. Target: generate + export <= 10 s"
        " (with CSV, and with Excel).",
        "",
        "| run | generate (s) | export CSV (s) | generate + CSV (s) | export xlsx (s) | generate + xlsx (s)"
        " | xlsx (MB) | codes | CSV lines | xlsx rows |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for attempt, r in rows:
        lines.append(
            f"| {attempt} | {r['create_s']} | {r['export_s']} | {r['total_s']} | {r['xlsx_s']} | {r['xlsx_total_s']}"
            f" | {r['xlsx_mb']} | {r['codes']:,} | {r['csv_lines']:,} | {r['xlsx_lines']:,} |"
        )
    return "\n".join(lines) + "\n"
