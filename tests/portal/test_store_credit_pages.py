"""The member sees their store credit on their pages: the balance on the home page, the entries
in the history; never another member's."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from members.services import store_credit_earn, store_credit_spend
from tests.factories import MemberFactory
from tests.portal.helpers import sign_in


def test_home_and_history_show_the_members_own_store_credit(client, db):
    member, other = MemberFactory(), MemberFactory()
    sign_in(client, member)
    assert "data-store-credit-balance" not in client.get("/m/").content.decode()  # none yet: no box
    store_credit_earn(member=member, amount=Decimal(1250000), reference="sale:1:credit-earn", cause_reference="sale:1")
    spent = store_credit_spend(member=member, amount=Decimal(50000), reference="sale:2:credit-redeem")
    theirs = store_credit_earn(member=other, amount=Decimal(777), reference="sale:3:credit-earn")
    with translation.override("vi"):
        home = client.get("/m/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert 'data-store-credit-balance="1200000.00"' in home
    assert "1.200.000\u00a0đ" in home
    history = client.get("/m/history/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert f'data-credit-entry="{spent.pk}"' in history
    assert "-50.000\u00a0đ" in history and "+1.250.000\u00a0đ" in history
    assert f'data-credit-entry="{theirs.pk}"' not in history
