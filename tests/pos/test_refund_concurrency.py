"""A refund racing a redemption of the points it takes back, with real threads (SQLite and
PostgreSQL): whichever wins the member's lock, the member ends with no points, no debt and no
usable voucher bought with the refunded points, and the ledger stays consistent."""

import json

import pytest

from members.models import Member
from members.selectors import ledger_drift
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.pos.test_sales_concurrency import SALES, call, keys, programme  # noqa: F401 -- the fixture
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db(transaction=True)
PAIRS = 4


def test_refunds_racing_redemptions_of_the_points_they_take_back(programme):  # noqa: F811
    members = [MemberFactory() for _ in range(PAIRS)]
    tills = keys(2 * PAIRS)
    sales = []
    for i, member in enumerate(members):
        line = {"sku": "PHO", "category": "pho", "quantity": 1, "unit_price": 1_000_000}
        status, content = call(
            tills[0], SALES, {"receipt_number": f"RACE-{i}", "member": member.pk, "lines": [line]}, f"s{i}"
        )
        assert status == 201, content
        assert json.loads(content)["points_earned"] == 50
        sales.append(json.loads(content)["id"])

    def race(i):
        pair = i // 2
        if i % 2:
            return call(tills[i], f"/api/pos/v1/members/{members[pair].pk}/redemptions", {"reward": "CASH50K"}, f"r{i}")
        return call(tills[i], f"{SALES}/{sales[pair]}/refunds", {}, f"f{i}")

    results = run_in_threads(2 * PAIRS, race)

    for pair, member in enumerate(members):
        (refund_status, refund_body), (redeem_status, redeem_body) = results[2 * pair], results[2 * pair + 1]
        assert refund_status == 201, refund_body
        refund = json.loads(refund_body)
        assert refund["points_reversed"] == 50
        if redeem_status == 201:  # redeemed first: the refund voided the voucher
            assert refund["vouchers_voided"] == [json.loads(redeem_body)["voucher"]["code"]]
        else:  # refunded first: nothing left to redeem with
            assert redeem_status == 409 and b"insufficient-points" in redeem_body, redeem_body
            assert refund["vouchers_voided"] == []
        assert tuple(Member.objects.filter(pk=member.pk).values_list("points_balance", "points_debt").get()) == (0, 0)
        assert not Voucher.objects.filter(member=member, status=Voucher.Status.ISSUED).exists()
    assert ledger_drift() == []
