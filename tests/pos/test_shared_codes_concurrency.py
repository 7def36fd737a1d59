"""Shared codes under real threads (SQLite and PostgreSQL): 20 tills race for the last 5 uses of a
code, and one member at 20 tills at once gets it once."""

import pytest

from members.selectors import ledger_drift
from pos.models import Sale
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.pos.test_sales_concurrency import SALES, body, call, keys, programme  # noqa: F401 -- fixture
from vouchers.models import SharedCode, SharedCodeUse
from vouchers.services import shared_code_save

pytestmark = pytest.mark.django_db(transaction=True)


def test_20_tills_race_for_the_last_5_uses(programme):  # noqa: F811
    code = SharedCode.objects.get(code="CHAOBAN")
    code.total_limit = 5
    shared_code_save(shared_code=code)
    members = [MemberFactory(points=0) for _ in range(20)]
    tills = keys(20)
    results = run_in_threads(
        20, lambda i: call(tills[i], SALES, body(f"CB-{i}", members[i], vouchers=["CHAOBAN"]), f"k{i}")
    )
    statuses = sorted(status for status, _content in results)
    assert statuses == [201] * 5 + [422] * 15, results
    assert SharedCode.objects.get(pk=code.pk).uses_count == 5
    assert SharedCodeUse.objects.count() == 5 == Sale.objects.count()
    assert ledger_drift() == []


def test_one_member_at_20_tills_gets_it_once(programme):  # noqa: F811
    member = MemberFactory(points=0)
    tills = keys(20)
    results = run_in_threads(
        20, lambda i: call(tills[i], SALES, body(f"CB1-{i}", member, vouchers=["CHAOBAN"]), f"m{i}")
    )
    statuses = sorted(status for status, _content in results)
    assert statuses == [201] + [422] * 19, results
    assert SharedCodeUse.objects.filter(member=member).count() == 1
    assert SharedCode.objects.get(code="CHAOBAN").uses_count == 1
