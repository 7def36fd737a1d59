"""The console at a chain's size (issue 18), checked on PostgreSQL at test size: the changelists of
the tables that grow to millions of rows never count the whole table and never read it whole.

At a few rows PostgreSQL would rightly scan every table, so the plans are taken with
`enable_seqscan = off`: a sequential scan of a large table that remains then has no index to
avoid it. And each list's default ordering must lead an index (a plan can avoid a scan by reading
a whole other index, so the ordering is checked on its own). bench/bench_console.py measures the
same pages at 1,000,000 members."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Member
from tests.factories import MemberFactory
from tests.pos.conftest import demo_programme, post, till  # noqa: F401 -- the fixture is used

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

LARGE_TABLES = {
    "members_member",
    "members_card",
    "members_ledgerentry",
    "members_pointlot",
    "members_historicalmember",
    "pos_sale",
    "pos_refund",
    "tiers_tierstatus",
    "tiers_tierchange",
    "tiers_tierspend",
    "vouchers_voucher",
    "campaigns_promotionapplication",
    "campaigns_campaigndelivery",
    "campaigns_stamp",
    "campaigns_groupmembership",
    "notifications_message",
}
# (admin URL name, extra query): every list of a large table, its searches and main filters, and
# the small lists whose columns were counts over a large one (terminals, tiers, rewards).
PAGES = [
    ("members_member", {}),
    ("members_member", {"p": "2"}),
    ("members_member", {"q": "0912 345 678"}),
    ("members_member", {"q": "345678"}),
    ("members_member", {"q": "0912 345"}),
    ("members_member", {"q": "nguyen van an"}),
    ("members_member", {"q": "Nguyễn Văn An"}),
    ("members_member", {"status__exact": "blocked"}),
    ("members_card", {}),
    ("members_ledgerentry", {}),
    ("members_ledgerentry", {"q": "0912345678"}),
    ("members_ledgerentry", {"kind__exact": "earn"}),
    ("members_pointlot", {}),
    ("members_pointlot", {"q": "nguyen van an"}),
    ("members_historicalmember", {}),
    ("pos_sale", {}),
    ("pos_sale", {"q": "912345678"}),
    ("pos_sale", {"q": "R-1"}),
    ("pos_refund", {}),
    ("tiers_tierstatus", {}),
    ("tiers_tierstatus", {"q": "Nguyễn"}),
    ("tiers_tierchange", {}),
    ("tiers_tierspend", {}),
    ("vouchers_voucher", {}),
    ("vouchers_voucher", {"q": "0912345678"}),
    ("campaigns_promotionapplication", {}),
    ("campaigns_promotionapplication", {"q": "0912345678"}),
    ("campaigns_campaigndelivery", {}),
    ("campaigns_stamp", {}),
    ("campaigns_groupmembership", {"q": "nguyen van an"}),
    ("notifications_message", {}),
    ("notifications_message", {"q": "345678"}),
    ("stores_terminal", {}),
    ("tiers_tier", {}),
    ("vouchers_reward", {}),
]
_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


@pytest.fixture
def chain(demo_programme):  # noqa: F811 -- pytest's fixture, imported
    """A few members with sales (earn entries, lots, tier statuses), the demo's tiers and rewards."""
    an = MemberFactory(name="Nguyễn Văn An", phone="0912345678", points=100)
    members = [an, *(MemberFactory(points=50) for _ in range(5))]
    client = till("PHO-HN01")
    for i, member in enumerate(members):
        body = {
            "receipt_number": f"R-{i}",
            "member": member.pk,
            "lines": [{"sku": "PHO-GA", "name": "Phở gà", "category": "pho", "quantity": 2, "unit_price": 60000}],
        }
        assert post(client, "/api/pos/v1/sales", body, key=f"k-{i}").status_code == 201
    return members


def _plans(queries) -> list[tuple[str, str]]:
    """(query, plan) of every SELECT that reads a large table, planned without sequential scans."""
    out = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for query in queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT") or not any(f'"{t}"' in sql for t in LARGE_TABLES):
                    continue
                cursor.execute("EXPLAIN " + sql)
                out.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
        finally:
            cursor.execute("RESET enable_seqscan")
    return out


@pytest.mark.parametrize(("name", "params"), PAGES, ids=[f"{n}{p or ''}" for n, p in PAGES])
def test_the_lists_of_large_tables_neither_count_nor_scan_them(admin_client, chain, is_postgres, name, params):
    if not is_postgres:
        pytest.skip("the plans and the estimated counts are PostgreSQL's")
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(reverse(f"admin:{name}_changelist"), params)
    assert response.status_code == 200
    counts = [q["sql"] for q in captured.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
    unbounded = [sql for sql in counts if any(f'"{t}"' in sql for t in LARGE_TABLES) and "LIMIT" not in sql.upper()]
    assert unbounded == [], unbounded
    scans = [
        (sql, plan) for sql, plan in _plans(captured.captured_queries) if set(_SEQ_SCAN.findall(plan)) & LARGE_TABLES
    ]
    assert scans == [], "\n\n".join(f"{sql}\n{plan}" for sql, plan in scans)


def _index_leaders(table: str) -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {c["columns"][0] for c in constraints.values() if (c["index"] or c["unique"]) and c["columns"]}


@pytest.mark.parametrize("name", sorted({n for n, _p in PAGES} - {"stores_terminal", "tiers_tier", "vouchers_reward"}))
def test_the_default_ordering_of_each_large_list_leads_an_index(admin_client, chain, is_postgres, name):
    if not is_postgres:
        pytest.skip("introspected indexes: PostgreSQL")
    response = admin_client.get(reverse(f"admin:{name}_changelist"))
    changelist = response.context["cl"]
    first = changelist.queryset.query.order_by[0].lstrip("-")
    model = changelist.model
    column = model._meta.pk.column if first == "pk" else model._meta.get_field(first).column
    assert column in _index_leaders(model._meta.db_table), (name, column)


def test_a_count_past_a_thousand_is_the_estimate_and_never_a_full_count(chain, is_postgres):
    if not is_postgres:
        pytest.skip("estimates: PostgreSQL")
    from loyalty_site.core.counting import count_bounded

    with CaptureQueriesContext(connection) as captured:
        assert count_bounded(Member.objects.all(), exact_up_to=3) >= 4
    assert any("LIMIT 4" in q["sql"] for q in captured.captured_queries)
    assert not any(
        re.search(r"SELECT COUNT\(\*\) AS \"__count\" FROM \"members_member\"", q["sql"])
        for q in captured.captured_queries
    )
