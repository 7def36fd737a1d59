"""`/m/claim/<token>` on the member pages: sign in first, then the campaign's voucher is the
member's, once; another member's link, an altered one or one the campaign did not send is
refused in Vietnamese with nothing issued."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from campaigns.runs.claims import claim_token
from tests.portal.helpers import sign_in
from tests.vouchers.helpers import written_state
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def link(campaign, member) -> str:
    return f"/m/claim/{claim_token(campaign_id=campaign.pk, member_id=member.pk)}"


def test_signed_out_the_link_goes_through_sign_in_and_comes_back(client, campaign, member):
    path = link(campaign, member)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/m/?next={quote(path, safe='')}"
    assert not Voucher.objects.exists()


def test_signed_in_the_voucher_is_the_members_once(client, campaign, member):
    sign_in(client, member)
    first = client.get(link(campaign, member))
    voucher = Voucher.objects.get(member=member)
    assert first.status_code == 200
    assert f'data-voucher="{voucher.code}"' in first.content.decode()
    assert "Voucher đã là của bạn." in first.content.decode()
    second = client.get(link(campaign, member))
    assert "Bạn đã nhận voucher này rồi." in second.content.decode()
    assert Voucher.objects.filter(member=member).count() == 1


def test_another_members_link_is_refused_and_nothing_is_issued(client, campaign, member, other_member):
    sign_in(client, member)
    before = written_state()
    response = client.get(link(campaign, other_member))
    assert response.status_code == 422
    assert "Liên kết này được gửi cho thành viên khác" in response.content.decode()
    assert written_state() == before


@pytest.mark.parametrize("token", ["", "1", "abc-def", "0-AAAA", "99999999999-x", "%00", "1-" + "A" * 300])
def test_altered_links_are_refused_never_a_500(client, campaign, member, token):
    sign_in(client, member)
    before = written_state()
    response = client.get(f"/m/claim/{token}")
    assert response.status_code in (404, 422)
    assert written_state() == before


def test_a_member_the_campaign_did_not_reach_is_refused(client, campaign, pho_store):
    from tests.factories import MemberFactory

    outsider = MemberFactory(home_store=pho_store)
    sign_in(client, outsider)
    response = client.get(link(campaign, outsider))
    assert response.status_code == 422
    assert "Ưu đãi này không được gửi cho bạn." in response.content.decode()
    assert not Voucher.objects.exists()
