"""The member's rewards page and their own exchange of points for a voucher: the till's service
with its limits, stock and tier price; a double tap pays once; refusals in the member's words
with nothing written; hidden and other-brand rewards neither offered nor exchangeable."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from members.demo import DEMO_SETTINGS
from members.errors import MemberProofRequired
from members.models import LedgerEntry, Member
from members.services import programme_settings_update
from portal.rewards import exchange_reference_make
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.portal.helpers import sign_in
from tests.vouchers.helpers import assert_ledger_consistent, written_state
from tiers.models import Tier, TierStatus
from vouchers.models import Reward, Voucher
from vouchers.services import reward_redeem

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r'name="reference" value="([^"]+)"')


def confirm_form(client, code: str) -> str:
    """The confirmation step of `code`: its signed one-time reference."""
    page = client.get(f"/m/rewards/{code}/")
    assert page.status_code == 200
    assert b"data-confirm" in page.content
    return REFERENCE.search(page.content.decode()).group(1)


def exchange(client, code: str, reference: str):
    return client.post(f"/m/rewards/{code}/", {"reference": reference})


# --- The list ---------------------------------------------------------------------------------


def test_the_rewards_of_the_members_brand_at_the_tier_price_hidden_and_other_brands_left_out(client, member, catalogue):
    diamond = Tier.objects.create(
        code="DIAMOND", name="Kim Cương", rank=2, threshold=Decimal(0), voucher_points_discount_percent=Decimal(10)
    )
    TierStatus.objects.create(member=member, tier=diamond)
    sign_in(client, member)
    page = client.get("/m/rewards/").content.decode()
    offered = re.findall(r'data-reward="([A-Z0-9-]+)"', page)
    assert offered == ["PHO100", "ANY300"]  # affordable ones carry the button, cheapest first
    assert "Giảm 500.000 đ" in page  # too dear: listed, without the button
    assert "Cà phê miễn phí" not in page and "Quà bí mật" not in page
    assert 'data-points-balance="500"' in page
    assert "90 điểm" in page and "270 điểm" in page  # 10 % off 100 and 300


def test_a_member_without_a_home_store_sees_every_brand(client, catalogue):
    member = MemberFactory(points=500)
    sign_in(client, member)
    page = client.get("/m/rewards/").content.decode()
    assert re.findall(r'data-reward="([A-Z0-9-]+)"', page) == ["CAFE50", "PHO100", "ANY300"]
    assert "Quà bí mật" not in page


def test_the_pages_need_a_signed_in_member(client, catalogue):
    for path in ("/m/rewards/", "/m/rewards/PHO100/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/m/?next={path.replace('/', '%2F')}"


# --- The exchange -----------------------------------------------------------------------------


def test_confirming_exchanges_once_and_a_replay_returns_the_same_voucher(client, member, catalogue, pho_store):
    sign_in(client, member)
    reference = confirm_form(client, "PHO100")
    done = exchange(client, "PHO100", reference)
    assert done.status_code == 200
    voucher = Voucher.objects.get(member=member)
    assert f'data-voucher="{voucher.code}"'.encode() in done.content
    assert b'data-points-balance="400"' in done.content
    assert (voucher.channel, voucher.points_spent, voucher.issued_store_id) == ("web", 100, pho_store.pk)
    again = exchange(client, "PHO100", reference)  # a double tap, a refresh
    assert again.status_code == 200 and f'data-voucher="{voucher.code}"'.encode() in again.content
    member.refresh_from_db()
    assert member.points_balance == 400
    assert Voucher.objects.filter(member=member).count() == 1
    assert LedgerEntry.objects.filter(member=member, kind="spend").count() == 1
    assert Reward.objects.get(code="PHO100").issued_count == 1
    assert_ledger_consistent()


def test_a_new_confirmation_exchanges_again(client, member, catalogue):
    sign_in(client, member)
    exchange(client, "PHO100", confirm_form(client, "PHO100"))
    exchange(client, "PHO100", confirm_form(client, "PHO100"))
    member.refresh_from_db()
    assert (member.points_balance, Voucher.objects.filter(member=member).count()) == (300, 2)


def test_the_tier_price_is_what_is_spent(client, member, catalogue):
    diamond = Tier.objects.create(
        code="DIAMOND", name="Kim Cương", rank=2, threshold=Decimal(0), voucher_points_discount_percent=Decimal(10)
    )
    TierStatus.objects.create(member=member, tier=diamond)
    sign_in(client, member)
    exchange(client, "ANY300", confirm_form(client, "ANY300"))
    member.refresh_from_db()
    assert member.points_balance == 230
    assert Voucher.objects.get(member=member).points_spent == 270


@pytest.mark.parametrize("code", ["CAFE50", "SECRET", "NOSUCH", "pho100'--"])
def test_hidden_other_brand_and_unknown_rewards_cannot_be_exchanged_by_a_crafted_post(client, member, catalogue, code):
    sign_in(client, member)
    before = written_state()
    assert client.get(f"/m/rewards/{code}/").status_code == 404
    reference = exchange_reference_make(member=member, reward=catalogue.get(code, catalogue["PHO100"]))
    response = exchange(client, code, reference)
    assert response.status_code == 404
    assert "Phần thưởng này không dành cho bạn." in response.content.decode()
    assert written_state() == before


def test_a_form_made_for_another_member_or_reward_or_altered_is_refused(client, member, other_member, catalogue):
    sign_in(client, member)
    before = written_state()
    others = [
        exchange_reference_make(member=other_member, reward=catalogue["PHO100"]),
        exchange_reference_make(member=member, reward=catalogue["ANY300"]),
        confirm_form(client, "PHO100")[:-2] + "xx",
        "",
    ]
    for reference in others:
        response = exchange(client, "PHO100", reference)
        assert response.status_code == 400
        assert b"data-confirm" in response.content  # a fresh form to confirm again
    assert written_state() == before


def test_not_enough_points_is_refused_in_vietnamese_and_nothing_is_written(client, catalogue, pho_store):
    poor = MemberFactory(points=250, home_store=pho_store)
    sign_in(client, poor)
    page = client.get("/m/rewards/ANY300/")
    assert b"data-confirm" not in page.content  # no button for what the points do not cover
    before = written_state()
    response = exchange(client, "ANY300", exchange_reference_make(member=poor, reward=catalogue["ANY300"]))
    assert response.status_code == 409
    assert "Bạn không đủ điểm để đổi phần thưởng này." in response.content.decode()
    assert written_state() == before


def test_out_of_stock_and_the_members_limit_are_refused_and_nothing_is_written(client, member, catalogue):
    Reward.objects.filter(code="PHO100").update(stock=0)
    limited = catalogue["ANY300"]
    limited.limit_per_member = 1
    limited.save()
    sign_in(client, member)
    exchange(client, "ANY300", confirm_form(client, "ANY300"))
    before = written_state()
    sold_out = exchange(client, "PHO100", exchange_reference_make(member=member, reward=catalogue["PHO100"]))
    assert sold_out.status_code == 422
    assert "Phần thưởng này đã hết." in sold_out.content.decode()
    over = exchange(client, "ANY300", exchange_reference_make(member=member, reward=limited))
    assert over.status_code == 422
    assert "Bạn đã nhận phần thưởng này đủ số lần cho phép." in over.content.decode()
    assert written_state() == before


def test_a_member_in_debt_is_refused_and_nothing_is_written(client, member, catalogue):
    Member.objects.filter(pk=member.pk).update(points_debt=20)  # what a refund's claw-back leaves
    sign_in(client, member)
    before = written_state()
    response = exchange(client, "PHO100", exchange_reference_make(member=member, reward=catalogue["PHO100"]))
    assert response.status_code == 409
    assert "tạm giữ" in response.content.decode()
    assert written_state() == before


# --- Presence proof ---------------------------------------------------------------------------


def test_the_signed_in_member_needs_no_other_proof_but_the_till_still_does(client, member, catalogue, pho_store):
    programme_settings_update(
        data={"presence_proof": "always", "presence_free_points": DEMO_SETTINGS.get("presence_free_points", 100)}
    )
    with pytest.raises(MemberProofRequired):
        reward_redeem(member=member, reward=catalogue["PHO100"], store=pho_store, reference="pos:1:k")
    sign_in(client, member)
    assert exchange(client, "PHO100", confirm_form(client, "PHO100")).status_code == 200
    assert Voucher.objects.filter(member=member, channel="web").count() == 1


def test_a_signed_in_proof_is_good_for_that_member_only(member, other_member, catalogue, pho_store):
    from members.errors import MemberProofInvalid
    from members.services import PresenceProof

    programme_settings_update(data={"presence_proof": "always"})
    before = written_state()
    with pytest.raises(MemberProofInvalid):
        reward_redeem(
            member=other_member,
            reward=catalogue["PHO100"],
            store=pho_store,
            reference="web:x",
            proof=PresenceProof(signed_in_member_id=member.pk),
            channel=Voucher.Channel.WEB,
        )
    assert written_state() == before


# --- Concurrency (real threads; PostgreSQL's row locks) ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_from_two_threads_pays_once(pho_store, is_postgres):
    if not is_postgres:
        pytest.skip("real row locks: PostgreSQL")
    from django.test import Client

    from tests.vouchers.factories import RewardFactory

    member = MemberFactory(points=500, home_store=pho_store)
    reward = RewardFactory(code="RACE100", points_cost=100, stock=3, brands=[pho_store.brand])
    reference = exchange_reference_make(member=member, reward=reward)
    clients = [Client(), Client()]
    for c in clients:
        sign_in(c, member)

    def tap(index):
        return exchange(clients[index], "RACE100", reference).status_code

    assert run_in_threads(2, tap) == [200, 200]
    member.refresh_from_db()
    assert member.points_balance == 400
    assert Voucher.objects.filter(member=member).count() == 1
    assert Reward.objects.get(pk=reward.pk).issued_count == 1
    assert_ledger_consistent()


def test_a_web_exchange_is_voided_to_cover_a_claw_back_like_a_till_exchange(client, pho_store, catalogue):
    from vouchers.services import vouchers_void_to_cover

    member = MemberFactory(points=100, home_store=pho_store)
    sign_in(client, member)
    exchange(client, "PHO100", confirm_form(client, "PHO100"))
    voucher = Voucher.objects.get(member=member, channel="web")
    voided = vouchers_void_to_cover(member=member, points=60, reason="Trả hàng", cause_reference="refund:1")
    assert [v.pk for v in voided] == [voucher.pk]
    member.refresh_from_db()
    assert member.points_balance == 100
    assert_ledger_consistent()


def test_reward_redeem_exchanges_points_only_through_the_points_channels(member, catalogue, pho_store):
    before = written_state()
    with pytest.raises(ValueError, match="not such a channel"):
        reward_redeem(member=member, reward=catalogue["PHO100"], store=pho_store, reference="x", channel="campaign")
    assert written_state() == before
