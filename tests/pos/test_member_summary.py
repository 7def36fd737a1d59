"""The member summary at the till carries the real tier and the vouchers usable at that store."""

import pytest

from tests.factories import MemberFactory
from tests.pos.conftest import till
from tests.pos.test_sales_api import issue, promote

pytestmark = pytest.mark.django_db


def test_summary_shows_the_tier_and_only_vouchers_usable_at_this_store(demo_programme):
    member = MemberFactory(phone="0912000111")
    promote(member, "VIP")
    cash = issue(member, "CASH50K")
    b2g1 = issue(member, "CAFE-B2G1")  # coffee brand only
    at_pho = till("PHO-HN01").get("/api/pos/v1/members/lookup", {"q": "0912000111"}).json()
    at_cafe = till("CAFE-HN01").get("/api/pos/v1/members/lookup", {"q": "0912000111"}).json()
    assert at_pho["tier"] == {"code": "VIP", "name": "VIP"}
    assert [v["code"] for v in at_pho["vouchers"]] == [cash.code]
    assert sorted(v["code"] for v in at_cafe["vouchers"]) == sorted([cash.code, b2g1.code])
    assert {"code", "name", "kind", "expires_at"} == set(at_pho["vouchers"][0])
