"""A chain-sized history bulk-loaded into a migrated PostgreSQL database with set-based
INSERT ... SELECT generate_series (minutes, not hours), for the report benchmarks and anyone
else who needs one (`load_chain(url, members=..., sales=...)`).

What it loads, over `days` days ending yesterday (local time):
- the demo programme's brands, stores, tiers and rewards (its own loaders, through manage.py),
  plus `extra_stores` more stores spread over the brands, one terminal each;
- `members` members enrolled evenly over the period, a home store each (5 % none), an opening
  bonus entry with its point lot (expiring evenly over the next year), a tier status for 70 %
  (20 % VIP, 5 % DIAMOND) and a tier change (upgrade) for the VIP and DIAMOND ones;
- `sales` sales evenly over the period at every store, 70 % by a member (spread over all of
  them), 3 % partly refunded and 1 % refunded in full, an earn entry for each member sale;
- a spend entry for 5 % of members, an expire entry for 2 %, `vouchers` vouchers (40 % used,
  200,000 by default);
- with `earn_lots`, a point lot for every earn entry too (the console benchmark's lot table).
Balances are then set to the sum of each member's entries (the ledger's invariant); the
per-entry `balance_after` is only the entry's own points (no report reads it)."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator

import psycopg

from bench.harness import ADMIN_URL, bench_env, manage, pg_database

# A database already holding `load_chain`'s history (a name on the bench server or a URL): the
# report benchmarks migrate it and use it as it is instead of loading a new one (15-20 minutes).
REUSE_ENV = "BENCH_REPORTS_DB"

SETUP = """
from stores.demo import demo_stores_load
from tiers.demo import demo_tiers_load
from vouchers.demo import demo_vouchers_load
from members.selectors import programme_settings_get
demo_stores_load(); demo_tiers_load(); demo_vouchers_load(); programme_settings_get(fresh=True)
"""

# Vietnamese names in roughly their real proportions (Nguyễn is about 38 % of the country), so a
# name search finds as many people as it would in a real chain: `nguyen van an` about 0.2 %.
FAMILY = (
    ["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 2 + ["Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
)
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Hữu", "Đức", "Thanh", "Quốc", "Thu", "Gia"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Hương", "Khánh", "Lan", "Linh",
         "Long", "Mai", "Minh", "Nam", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tâm", "Thảo", "Trang",
         "Tuấn", "Vy", "Yến", "Đạt", "Ánh"]  # fmt: skip


def _pick(names: list[str], index_sql: str) -> str:
    array = "ARRAY[" + ", ".join(f"'{name}'" for name in names) + "]"
    return f"({array})[1 + ({index_sql}) %% {len(names)}]"


NAME_SQL = f"{_pick(FAMILY, 'i * 7')} || ' ' || {_pick(MIDDLE, 'i / 3')} || ' ' || {_pick(GIVEN, 'i * 13 / 7')}"

STEPS = [
    (
        "stores",
        """
        INSERT INTO stores_store (code, name, brand_id, city, address, time_zone, is_active, created_at, updated_at)
        SELECT 'BENCH-' || lpad(i::text, 3, '0'), 'Cửa hàng ' || i,
               (SELECT array_agg(id ORDER BY id) FROM stores_brand)[1 + i %% (SELECT count(*) FROM stores_brand)],
               'Hà Nội', '', 'Asia/Ho_Chi_Minh', true, now(), now()
        FROM generate_series(1::bigint, %(extra_stores)s) AS i;
        INSERT INTO stores_terminal (name, key_prefix, key_hash, store_id, kind, created_at, updated_at)
        SELECT 'Bench', 'bench' || id, md5(id::text), id, 'till', now(), now() FROM stores_store;
        """,
    ),
    (
        "members",
        """
        WITH s AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM stores_store)
        INSERT INTO members_member (
            code, name, phone, email, gender, home_store_id, enrolled_at, enrolment_channel, status,
            status_reason, referral_code, points_balance, points_debt, needs_review, review_note,
            created_at, updated_at, name_folded, store_credit_balance)
        SELECT 'B' || lpad(i::text, 9, '0'), NAME_SQL, '+849' || lpad(i::text, 8, '0'), '', '',
               CASE WHEN i %% 20 = 0 THEN NULL ELSE s.ids[1 + (i * 7) %% s.n] END,
               %(start)s + ((i - 1)::float8 / %(members)s) * %(span)s, 'import', 'active', '',
               'R' || lpad(i::text, 9, '0'), 0, 0, false, '',
               %(start)s + ((i - 1)::float8 / %(members)s) * %(span)s, now(),
               -- members.search.name_fold, as migration members 0010 folds existing names
               btrim(regexp_replace(lower(unaccent(NAME_SQL)), '\\s+', ' ', 'g')), 0
        FROM generate_series(1::bigint, %(members)s) AS i CROSS JOIN s
        """,
    ),
    (
        "sales",
        """
        WITH s AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM stores_store),
             t AS (SELECT array_agg(id ORDER BY store_id) AS ids FROM stores_terminal),
             m AS (SELECT min(id) AS first, count(*) AS n FROM members_member),
             g AS (SELECT i, (20000 + (i * 37) %% 50 * 10000)::numeric AS amount,
                          CASE WHEN i %% 100 = 0 THEN 'refunded' WHEN i %% 100 < 4 THEN 'partly_refunded'
                               ELSE 'completed' END AS status
                   FROM generate_series(1::bigint, %(sales)s) AS i)
        INSERT INTO pos_sale (
            created_at, updated_at, receipt_number, occurred_at, status, subtotal, discount_total,
            points_amount, total, earn_base, points_redeemed, points_earned, multiplier, tier_code,
            tier_after_code, tier_changed, referrer_points, refunded_amount, refunded_paid,
            points_reversed, points_returned, store_id, terminal_id, member_id, order_status,
            store_credit_earned, store_credit_redeemed, store_credit_returned, store_credit_reversed)
        SELECT %(start)s + ((g.i - 1)::float8 / %(sales)s) * %(span)s, now(), 'R' || g.i,
               %(start)s + ((g.i - 1)::float8 / %(sales)s) * %(span)s, g.status, g.amount, 0, 0, g.amount,
               g.amount, 0, (g.amount / 20000)::int, 1, 'MEMBER', 'MEMBER', false, 0,
               CASE g.status WHEN 'refunded' THEN g.amount WHEN 'partly_refunded' THEN g.amount / 2 ELSE 0 END,
               CASE g.status WHEN 'refunded' THEN g.amount WHEN 'partly_refunded' THEN g.amount / 2 ELSE 0 END,
               0, 0, s.ids[1 + g.i %% s.n], t.ids[1 + g.i %% s.n],
               CASE WHEN g.i %% 10 < 7 THEN m.first + (g.i * 7919) %% m.n END, '', 0, 0, 0, 0
        FROM g CROSS JOIN s CROSS JOIN t CROSS JOIN m
        """,
    ),
    (
        "ledger",
        """
        INSERT INTO members_ledgerentry (
            kind, points, balance_after, points_not_recovered, occurred_at, created_at, cause_kind,
            cause_reference, reference, reason, member_id)
        SELECT 'bonus', 100, 100, 0, enrolled_at, enrolled_at, 'import', '', 'bench:open:' || id, '', id
        FROM members_member;
        INSERT INTO members_pointlot (points, remaining, earned_at, available_from, expires_at, entry_id, member_id)
        SELECT 100, 100 - (member_id %% 50), occurred_at, occurred_at,
               now() + ((member_id %% 365) || ' days')::interval, id, member_id
        FROM members_ledgerentry WHERE kind = 'bonus';
        INSERT INTO members_ledgerentry (
            kind, points, balance_after, points_not_recovered, occurred_at, created_at, cause_kind,
            cause_reference, reference, reason, member_id)
        SELECT 'earn', points_earned, points_earned, 0, occurred_at, occurred_at, 'sale', 'sale:' || id,
               'sale:' || id || ':earn', '', member_id
        FROM pos_sale WHERE member_id IS NOT NULL AND points_earned > 0;
        INSERT INTO members_ledgerentry (
            kind, points, balance_after, points_not_recovered, occurred_at, created_at, cause_kind,
            cause_reference, reference, reason, member_id)
        SELECT CASE WHEN id %% 5 = 0 THEN 'expire' ELSE 'spend' END, -(1 + id %% 49), 0, 0,
               enrolled_at + interval '200 days', enrolled_at + interval '200 days',
               CASE WHEN id %% 5 = 0 THEN 'expiry' ELSE 'redemption' END, '', 'bench:out:' || id, '', id
        FROM members_member WHERE id %% 14 = 0 AND enrolled_at < now() - interval '201 days';
        """,
    ),
    (
        "earn lots",
        """
        INSERT INTO members_pointlot (points, remaining, earned_at, available_from, expires_at, entry_id, member_id)
        SELECT points, points, occurred_at, occurred_at, occurred_at + interval '365 days', id, member_id
        FROM members_ledgerentry WHERE kind = 'earn' AND %(earn_lots)s
        """,
    ),
    (
        # More ledger entries than the sales make (`ledger_extra`, default none): staff adjustments
        # of ±5 points spread over the members and the period, for the console's 10,000,000-entry
        # size (issue 18). The balances below add them up like any other entry.
        "extra ledger",
        """
        WITH m AS (SELECT min(id) AS first, count(*) AS n FROM members_member),
             g AS (SELECT i, %(start)s + ((i - 1)::float8 / greatest(%(ledger_extra)s, 1)) * %(span)s AS at
                   FROM generate_series(1::bigint, %(ledger_extra)s) AS i)
        INSERT INTO members_ledgerentry (
            kind, points, balance_after, points_not_recovered, occurred_at, created_at, cause_kind,
            cause_reference, reference, reason, member_id)
        SELECT 'adjust', CASE WHEN g.i %% 2 = 0 THEN 5 ELSE -5 END, 0, 0, g.at, g.at, 'adjustment', '',
               'bench:adj:' || g.i, 'bench', m.first + (g.i * 7919) %% m.n
        FROM g CROSS JOIN m
        """,
    ),
    (
        "balances",
        """
        UPDATE members_member m SET points_balance = e.total
        FROM (SELECT member_id, sum(points) AS total FROM members_ledgerentry GROUP BY member_id) e
        WHERE e.member_id = m.id
        """,
    ),
    (
        "tiers",
        """
        WITH t AS (SELECT max(id) FILTER (WHERE code = 'MEMBER') AS member, max(id) FILTER (WHERE code = 'VIP') AS vip,
                          max(id) FILTER (WHERE code = 'DIAMOND') AS diamond FROM tiers_tier)
        INSERT INTO tiers_tierstatus (
            member_id, tier_id, since, qualifying_spend, carried_spend, counted_from, cycle_started_at,
            retention_deadline, cycle_spend, floor_tier_id, floor_until, updated_at)
        SELECT m.id, CASE WHEN m.id %% 100 < 45 THEN t.member WHEN m.id %% 100 < 65 THEN t.vip ELSE t.diamond END,
               m.enrolled_at, 0, 0, m.enrolled_at, NULL, NULL, 0, NULL, NULL, now()
        FROM members_member m CROSS JOIN t WHERE m.id %% 100 < 70;
        INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, kind, reference, note, at)
        SELECT s.member_id, t.id, s.tier_id, 'upgrade', '', '', s.since + interval '30 days'
        FROM tiers_tierstatus s CROSS JOIN (SELECT id FROM tiers_tier WHERE code = 'MEMBER') t
        WHERE s.tier_id <> t.id;
        """,
    ),
    (
        "vouchers",
        """
        WITH r AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM vouchers_reward),
             m AS (SELECT min(id) AS first, count(*) AS n FROM members_member),
             s AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM stores_store),
             g AS (SELECT i, %(start)s + ((i - 1)::float8 / %(vouchers)s) * %(span)s AS at
                   FROM generate_series(1::bigint, %(vouchers)s) AS i)
        INSERT INTO vouchers_voucher (
            created_at, updated_at, code, status, channel, issued_at, reason, points_spent, expires_at,
            used_at, used_store_id, issued_store_id, used_sale_reference, returned_from_sale, return_reason,
            void_reason, member_id, reward_id)
        SELECT g.at, now(), 'BV' || g.i, CASE WHEN g.i %% 5 < 2 THEN 'used' ELSE 'issued' END, 'points', g.at, '',
               50, g.at + interval '30 days', CASE WHEN g.i %% 5 < 2 THEN g.at + interval '3 hours' END,
               CASE WHEN g.i %% 5 < 2 THEN s.ids[1 + g.i %% s.n] END, s.ids[1 + (g.i * 3) %% s.n], '', '', '', '',
               m.first + (g.i * 104729) %% m.n, r.ids[1 + g.i %% r.n]
        FROM g CROSS JOIN r CROSS JOIN m CROSS JOIN s;
        UPDATE vouchers_reward r SET issued_count = (SELECT count(*) FROM vouchers_voucher v WHERE v.reward_id = r.id)
        """,
    ),
]


def load_chain(
    url: str,
    env: dict[str, str],
    *,
    members: int = 1_000_000,
    sales: int = 5_000_000,
    days: int = 730,
    extra_stores: int = 36,
    vouchers: int = 200_000,
    earn_lots: bool = False,
    ledger_extra: int = 0,
) -> dict[str, float]:
    """Load the history into the migrated database at `url` (`env`: the bench environment for
    manage.py). Returns the seconds each step took."""
    manage(env, "shell", "-c", SETUP)
    timings: dict[str, float] = {}
    params = {
        "members": members,
        "sales": sales,
        "extra_stores": extra_stores,
        "vouchers": vouchers,
        "earn_lots": earn_lots,
        "ledger_extra": ledger_extra,
        # The period ends at the start of today (UTC+7): everything loaded happened before today.
        "start": f"{days} days",
        "span": f"{days} days",
    }
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")
        connection.execute("SET synchronous_commit = off")
        # Bulk load only: no per-row foreign-key triggers (the loader's ids are taken from the
        # tables themselves). Needs a superuser, as the benchmark database's owner is.
        connection.execute("SET session_replication_role = replica")
        start_sql = "(date_trunc('day', now()) - %(start)s::interval)"
        span_sql = "%(span)s::interval"
        for name, sql in STEPS:
            started = time.perf_counter()
            sql = sql.replace("%(start)s", start_sql).replace("%(span)s", span_sql).replace("NAME_SQL", NAME_SQL)
            for statement in [s for s in sql.split(";") if s.strip()]:
                connection.execute(statement, params)
            timings[name] = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute("VACUUM ANALYZE")
        timings["analyze"] = time.perf_counter() - started
    return timings


@contextlib.contextmanager
def chain_database(prefix: str, *, members: int, sales: int) -> Iterator[tuple[str, dict[str, str], dict | None]]:
    """(url, bench env, load timings) of a migrated database with the chain's history: the one
    named by `BENCH_REPORTS_DB` (migrated, kept afterwards, timings `None`), else a throwaway one
    loaded here and dropped afterwards."""
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        url = reuse if "://" in reuse else ADMIN_URL.rsplit("/", 1)[0] + "/" + reuse
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        yield url, env, None
        return
    with pg_database(f"{prefix}_{uuid.uuid4().hex[:8]}") as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        yield url, env, load_chain(url, env, members=members, sales=sales)
