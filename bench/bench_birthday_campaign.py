"""The BIRTHDAY-MONTHLY campaign over 1,000,000 members on PostgreSQL, against the budget of
issue 7: under 60 s.

Setup (not timed): a throwaway database, `migrate`, `load_demo` (the campaign, the BDAY20
reward, the birthday templates), then 1,000,000 members bulk-loaded with one set-based
INSERT ... SELECT FROM generate_series (then VACUUM ANALYZE and a CHECKPOINT, as a database in
steady state): birthdays spread evenly over the year (so about 1/12 have theirs in the month of
the run), 60 % consenting to SMS, 30 % to email with an address, 1 % blocked, home stores spread
over the demo stores.

Timed, each `manage.py run_campaign BIRTHDAY-MONTHLY` in its own process (timed inside it, from
the command's start to its end, Django start-up excluded):
- first run: every active member born this month gets a BDAY20 voucher and the birthday
  message (SMS and email where consented) written to the outbox;
- second run, same day: must give nothing (the once-per-year rule).
Sending the messages is the outbox workers' job and not part of the run: with Redis at hand the
run queues its send tasks there (nobody consumes them; the queue is dropped afterwards); without
it, Celery is eager and the console backend's sending would be timed too, so Redis is required.
Reproduce alone: `.venv/bin/python bench/run.py birthday_campaign`. With
`BENCH_CAMPAIGN_HOLDOUT=10` the campaign keeps a 10 % holdout (drawn in the claiming INSERT,
recorded, given nothing), written as a section of its own."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

from bench.harness import bench_env, manage, pg_database

MEMBERS = int(os.environ.get("BENCH_CAMPAIGN_MEMBERS", "1000000"))
REDIS_URL = os.environ.get("BENCH_CAMPAIGN_REDIS_URL", "redis://127.0.0.1:6379/14")
BUDGET_SECONDS = 60
HOLDOUT = int(os.environ.get("BENCH_CAMPAIGN_HOLDOUT", "0"))
TITLE = "## Birthday campaign over 1,000,000 members" + (f" with a {HOLDOUT} % holdout" if HOLDOUT else "")

_TIMED = """
import json, time
from django.core.management import call_command
started = time.perf_counter()
call_command("run_campaign", "BIRTHDAY-MONTHLY")
print("BENCH " + json.dumps({"seconds": time.perf_counter() - started}))
"""

# Every column of members_member that has no default in the database is filled here.
_LOAD_MEMBERS = """
INSERT INTO members_member (
    code, referral_code, name, phone, email, birthday, gender, home_store_id, enrolled_at,
    enrolment_channel, status, status_changed_at, status_reason, referred_by_id, merged_into_id,
    consent_sms_at, consent_email_at, consent_zalo_at, consent_push_at, points_balance, points_debt,
    needs_review, review_note, created_at, updated_at, name_folded, store_credit_balance
)
SELECT
    'B' || lpad(i::text, 11, '0'),
    'R' || lpad(i::text, 11, '0'),
    'Khách Hàng ' || i,
    '+8459' || lpad(i::text, 7, '0'),
    CASE WHEN i % 10 < 3 THEN 'khach' || i || '@example.vn' ELSE '' END,
    date '1960-01-01' + ((i::bigint * 7919) % 16071)::int,
    CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END,
    (SELECT array_agg(id ORDER BY id) FROM stores_store)[1 + i % (SELECT count(*) FROM stores_store)],
    now() - ((i % 1500) || ' days')::interval,
    'store',
    CASE WHEN i % 100 = 0 THEN 'blocked' ELSE 'active' END,
    NULL, '', NULL, NULL,
    CASE WHEN i % 5 < 3 THEN now() END,
    CASE WHEN i % 10 < 3 THEN now() END,
    NULL, NULL, 0, 0, false, '', now(), now(), 'khach hang ' || i, 0
FROM generate_series(1, __MEMBER_COUNT__) AS i;
"""


def _psql(url: str, sql: str) -> str:
    result = subprocess.run(
        ["psql", url, "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql], check=False, capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _redis_ok(url: str) -> bool:
    try:
        import redis
    except ImportError:
        return False
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _redis_drop(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _timed_run(env) -> float:
    out = manage(env, "shell", "-c", _TIMED, capture=True)
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))["seconds"]


def _last_run(url: str) -> dict:
    row = _psql(
        url,
        "SELECT row_to_json(r) FROM (SELECT status, audience_count, members_reached, vouchers_issued, "
        "messages_queued, extract(epoch FROM finished_at - started_at) AS seconds "
        "FROM campaigns_campaignrun ORDER BY id DESC LIMIT 1) r",
    )
    return json.loads(row)


def run() -> str:
    if not _redis_ok(REDIS_URL):
        return (
            f"{TITLE} (PostgreSQL)\n\nNot run: Redis is not reachable at `{REDIS_URL}` (set BENCH_CAMPAIGN_REDIS_URL)."
        )
    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    with pg_database(name) as url:
        env = bench_env(url, CELERY_BROKER_URL=REDIS_URL)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_demo", capture=True)
        if HOLDOUT:
            _psql(url, f"UPDATE campaigns_campaign SET holdout_percent = {HOLDOUT} WHERE code = 'BIRTHDAY-MONTHLY'")
        started = time.perf_counter()
        _psql(url, _LOAD_MEMBERS.replace("__MEMBER_COUNT__", str(int(MEMBERS))))
        # A table in steady state, as autovacuum keeps it (not a million rows fresh from the load),
        # and no checkpoint of that load's WAL running during the timed run.
        _psql(url, "VACUUM ANALYZE members_member")
        _psql(url, "CHECKPOINT")
        load_seconds = time.perf_counter() - started
        total = int(_psql(url, "SELECT count(*) FROM members_member"))
        month = int(_psql(url, "SELECT extract(month FROM now() AT TIME ZONE 'Asia/Ho_Chi_Minh')"))
        expected = int(
            _psql(
                url,
                "SELECT count(*) FROM members_member WHERE status = 'active' "
                f"AND extract(month FROM birthday) = {month}",
            )
        )
        try:
            first_seconds = _timed_run(env)
            first = _last_run(url)
            second_seconds = _timed_run(env)
            second = _last_run(url)
        finally:
            _redis_drop(REDIS_URL)
        vouchers = int(_psql(url, "SELECT count(*) FROM vouchers_voucher WHERE channel = 'campaign'"))
        deliveries = int(_psql(url, "SELECT count(*) FROM campaigns_campaigndelivery"))
        held_out = int(_psql(url, "SELECT count(*) FROM campaigns_campaigndelivery WHERE holdout"))
        messages = _psql(
            url,
            "SELECT string_agg(channel || ' ' || status || ': ' || n, ', ' ORDER BY channel, status) FROM "
            "(SELECT channel, status, count(*) AS n FROM notifications_message WHERE event = 'birthday' "
            "GROUP BY channel, status) t",
        )
    verdict = "within" if first_seconds < BUDGET_SECONDS else "OVER"
    lines = [
        f"{TITLE} (PostgreSQL)",
        "",
        f"`{f'BENCH_CAMPAIGN_HOLDOUT={HOLDOUT} ' if HOLDOUT else ''}.venv/bin/python bench/run.py birthday_campaign` — "
        "BIRTHDAY-MONTHLY of the demo programme run with "
        "`manage.py run_campaign` (timed inside the process) over members bulk-loaded with one INSERT ... SELECT "
        f"({load_seconds:.1f} s for {total:,} rows); sending is left to the outbox workers (tasks queued in Redis).",
        "",
        "| run | seconds (command) | seconds (run record) | audience | members reached | vouchers issued | messages queued |",  # noqa: E501
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| first | {first_seconds:.1f} | {first['seconds']:.1f} | {first['audience_count']:,} | "
        f"{first['members_reached']:,} | {first['vouchers_issued']:,} | {first['messages_queued']:,} |",
        f"| second, same day | {second_seconds:.1f} | {second['seconds']:.1f} | {second['audience_count']:,} | "
        f"{second['members_reached']:,} | {second['vouchers_issued']:,} | {second['messages_queued']:,} |",
        "",
        f"- Budget {BUDGET_SECONDS} s: the first run is {verdict} it ({first_seconds:.1f} s); "
        f"{first['members_reached'] / max(first_seconds, 0.001):,.0f} members served per second.",
        f"- Expected audience (active members born this month): {expected:,}; deliveries recorded: {deliveries:,}; "
        f"campaign vouchers: {vouchers:,}; held out: {held_out:,}; the second run gave nothing: "
        f"{'yes' if second['members_reached'] == 0 and vouchers == deliveries - held_out else 'NO'}.",
        f"- Birthday messages in the outbox: {messages or 'none'} (members without consent are skipped, as "
        "`message_enqueue` does).",
        "- Load average when the benchmark ended: {:.1f} / {:.1f} / {:.1f} (1 / 5 / 15 min); other work may share "
        "the machine.".format(*os.getloadavg()),
    ]
    return "\n".join(lines)
