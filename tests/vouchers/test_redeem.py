"""Exchanging points for a voucher (`reward_redeem`) and issuing one without points
(`voucher_issue`). Every refusal leaves balances, ledger, vouchers and stock as they were."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

import vouchers.services.vouchers as issuing
from loyalty_site.core.errors import ValidationFailed
from members.errors import InsufficientPoints, MemberBlocked
from members.models import LedgerEntry
from members.services import member_block
from notifications.models import Message, MessageTemplate
from tests.factories import MemberFactory
from tests.vouchers.factories import RewardFactory, percent_reward
from tests.vouchers.helpers import assert_ledger_consistent, written_state
from tiers.models import Tier, TierStatus
from vouchers.errors import RewardUnavailable, VoucherReferenceReused
from vouchers.models import Reward, Voucher
from vouchers.services import reward_redeem, voucher_issue

D = Decimal


def refused(exc_type, reason=None, **kwargs):
    """Run reward_redeem, expect `exc_type`, and check nothing was written."""
    before = written_state()
    with pytest.raises(exc_type) as caught:
        reward_redeem(**kwargs)
    assert written_state() == before
    if reason is not None:
        assert caught.value.extra["reason"] == reason
    return caught.value


@pytest.fixture
def tiers(db):
    member_tier = Tier.objects.create(code="MEMBER", name="Thành viên", rank=0, threshold=D(0))
    vip = Tier.objects.create(code="VIP", name="VIP", rank=1, threshold=D(5_000_000), earn_rate_percent=D(10))
    diamond = Tier.objects.create(
        code="DIAMOND",
        name="Kim Cương",
        rank=2,
        threshold=D(20_000_000),
        earn_rate_percent=D(12),
        invoice_discount_percent=D(5),
        voucher_points_discount_percent=D(5),
    )
    return {"MEMBER": member_tier, "VIP": vip, "DIAMOND": diamond}


# --- The exchange -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_exchange_spends_points_and_issues_a_voucher(member, pho_store):
    reward = RewardFactory(code="CASH50K", points_cost=50, stock=10)
    voucher = reward_redeem(member=member, reward=reward, store=pho_store, reference="pos:1:a")
    assert voucher.status == Voucher.Status.ISSUED
    assert voucher.channel == Voucher.Channel.POINTS
    assert (voucher.points_spent, voucher.member_id, voucher.issued_store_id) == (50, member.pk, pho_store.pk)
    assert member.points_balance == 450
    member.refresh_from_db()
    assert member.points_balance == 450
    entry = LedgerEntry.objects.get(reference="redemption:pos:1:a")
    assert (entry.kind, entry.points, entry.cause_reference) == ("spend", -50, "CASH50K")
    assert entry.cause_kind == "redemption"
    assert voucher.spend_entry_id == entry.pk
    reward.refresh_from_db()
    assert reward.issued_count == 1
    assert_ledger_consistent()


@pytest.mark.django_db
def test_exchange_is_idempotent_per_reference(member, pho_store):
    reward = RewardFactory(points_cost=50)
    first = reward_redeem(member=member, reward=reward, store=pho_store, reference="pos:1:a")
    before = written_state()
    again = reward_redeem(member=member, reward=reward, store=pho_store, reference="pos:1:a")
    assert again.pk == first.pk
    assert written_state() == before


@pytest.mark.django_db
def test_a_reference_reused_for_another_member_is_refused(member, other_member, pho_store):
    reward = RewardFactory(points_cost=50)
    reward_redeem(member=member, reward=reward, store=pho_store, reference="pos:1:a")
    refused(VoucherReferenceReused, member=other_member, reward=reward, store=pho_store, reference="pos:1:a")


@pytest.mark.django_db
def test_a_very_long_reference_is_hashed_and_still_idempotent(member, pho_store):
    reward = RewardFactory(points_cost=50)
    reference = "pos:1:" + "k" * 255
    first = reward_redeem(member=member, reward=reward, store=pho_store, reference=reference)
    again = reward_redeem(member=member, reward=reward, store=pho_store, reference=reference)
    assert first.pk == again.pk
    assert len(first.reference) <= 150


@pytest.mark.django_db
def test_not_enough_points_writes_nothing(pho_store):
    poor = MemberFactory(points=49)
    reward = RewardFactory(points_cost=50, stock=3)
    error = refused(InsufficientPoints, member=poor, reward=reward, store=pho_store, reference="x")
    assert error.extra == {"points_available": 49, "points_requested": 50}


@pytest.mark.django_db
def test_a_blocked_member_cannot_exchange(member, pho_store):
    member_block(member=member, reason="Gian lận")
    refused(MemberBlocked, member=member, reward=RewardFactory(points_cost=0), store=pho_store, reference="x")


@pytest.mark.django_db
def test_a_free_reward_spends_nothing(member, pho_store):
    reward = RewardFactory(points_cost=0)
    entries = LedgerEntry.objects.count()
    voucher = reward_redeem(member=member, reward=reward, store=pho_store, reference="x")
    assert (voucher.points_spent, voucher.spend_entry_id) == (0, None)
    assert LedgerEntry.objects.count() == entries


# --- What can be had ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_hidden_rewards_cannot_be_exchanged(member, pho_store):
    reward = percent_reward(code="BDAY20", is_visible=False, points_cost=0)
    refused(RewardUnavailable, "hidden", member=member, reward=reward, store=pho_store, reference="x")


@pytest.mark.django_db
def test_outside_the_issuing_window_is_refused(member, pho_store):
    now = timezone.now()
    later = RewardFactory(active_from=now + datetime.timedelta(hours=1))
    over = RewardFactory(
        active_from=now - datetime.timedelta(days=10), active_until=now - datetime.timedelta(seconds=1)
    )
    refused(RewardUnavailable, "not-active", member=member, reward=later, store=pho_store, reference="a")
    refused(RewardUnavailable, "not-active", member=member, reward=over, store=pho_store, reference="b")
    inside = RewardFactory(active_from=now - datetime.timedelta(days=1), active_until=now + datetime.timedelta(days=1))
    assert reward_redeem(member=member, reward=inside, store=pho_store, reference="c").pk


@pytest.mark.django_db
def test_a_fixed_validity_date_in_the_past_is_refused(member, pho_store):
    reward = RewardFactory(
        validity=Reward.Validity.FIXED_DATE,
        validity_days=None,
        valid_until=timezone.localdate() - datetime.timedelta(days=1),
    )
    refused(RewardUnavailable, "not-active", member=member, reward=reward, store=pho_store, reference="a")


@pytest.mark.django_db
def test_rewards_of_another_brand_are_refused(member, pho_store, cafe_brand, cafe_store):
    reward = RewardFactory(code="CAFE-B2G1", brands=[cafe_brand])
    refused(RewardUnavailable, "other-brand", member=member, reward=reward, store=pho_store, reference="a")
    assert reward_redeem(member=member, reward=reward, store=cafe_store, reference="b").pk


@pytest.mark.django_db
def test_a_reward_for_one_store_is_offered_at_every_store_of_its_brand(member, pho_store, pho_store_2, cafe_store):
    reward = RewardFactory(stores=[pho_store_2])
    assert reward_redeem(member=member, reward=reward, store=pho_store, reference="a").pk
    refused(RewardUnavailable, "other-brand", member=member, reward=reward, store=cafe_store, reference="b")


@pytest.mark.django_db
def test_stock_runs_out(member, other_member, pho_store):
    reward = RewardFactory(points_cost=10, stock=2)
    reward_redeem(member=member, reward=reward, store=pho_store, reference="a")
    reward_redeem(member=other_member, reward=reward, store=pho_store, reference="b")
    refused(RewardUnavailable, "out-of-stock", member=member, reward=reward, store=pho_store, reference="c")
    reward.refresh_from_db()
    assert reward.issued_count == reward.stock == 2


@pytest.mark.django_db
def test_limit_per_member_in_total(member, other_member, pho_store):
    reward = RewardFactory(points_cost=10, limit_per_member=2, limit_period=Reward.LimitPeriod.EVER)
    reward_redeem(member=member, reward=reward, store=pho_store, reference="a")
    reward_redeem(member=member, reward=reward, store=pho_store, reference="b")
    refused(RewardUnavailable, "member-limit", member=member, reward=reward, store=pho_store, reference="c")
    assert reward_redeem(member=other_member, reward=reward, store=pho_store, reference="d").pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("period", "later", "allowed_again"),
    [
        (Reward.LimitPeriod.DAY, datetime.timedelta(hours=20), True),  # 10:00 -> 06:00 the next day
        (Reward.LimitPeriod.DAY, datetime.timedelta(hours=10), False),  # 10:00 -> 20:00 the same day
        (Reward.LimitPeriod.MONTH, datetime.timedelta(days=20), True),  # 20 Mar -> 9 Apr
        (Reward.LimitPeriod.MONTH, datetime.timedelta(days=5), False),
        (Reward.LimitPeriod.YEAR, datetime.timedelta(days=30), False),
        (Reward.LimitPeriod.YEAR, datetime.timedelta(days=300), True),
    ],
)
def test_limit_per_member_per_period_in_local_time(monkeypatch, pho_store, period, later, allowed_again):
    zone = pho_store.zone
    start = datetime.datetime(2025, 3, 20, 10, 0, tzinfo=zone)
    monkeypatch.setattr(timezone, "now", lambda: start)
    member = MemberFactory(points=10)
    reward = RewardFactory(points_cost=1, limit_per_member=1, limit_period=period)
    reward_redeem(member=member, reward=reward, store=pho_store, reference="first")
    refused(RewardUnavailable, "member-limit", member=member, reward=reward, store=pho_store, reference="same")
    monkeypatch.setattr(timezone, "now", lambda: start + later)
    if allowed_again:
        assert reward_redeem(member=member, reward=reward, store=pho_store, reference="next").pk
    else:
        refused(RewardUnavailable, "member-limit", member=member, reward=reward, store=pho_store, reference="next")


@pytest.mark.django_db
def test_void_vouchers_do_not_count_towards_the_limit(member, pho_store):
    from vouchers.services import voucher_void

    reward = RewardFactory(points_cost=1, limit_per_member=1)
    voucher = reward_redeem(member=member, reward=reward, store=pho_store, reference="a")
    voucher_void(voucher=voucher, by=None, reason="Nhầm")
    assert reward_redeem(member=member, reward=reward, store=pho_store, reference="b").pk


# --- The tier discount --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("list_cost", "diamond_cost"), [(50, 48), (80, 76), (100, 95), (1, 1), (0, 0)])
def test_diamond_pays_5_percent_fewer_points_rounded_up(tiers, pho_store, list_cost, diamond_cost):
    diamond = MemberFactory(points=200)
    TierStatus.objects.create(member=diamond, tier=tiers["DIAMOND"])
    regular = MemberFactory(points=200)
    reward = RewardFactory(points_cost=list_cost)
    assert reward_redeem(member=diamond, reward=reward, store=pho_store, reference="d").points_spent == diamond_cost
    assert diamond.points_balance == 200 - diamond_cost
    assert reward_redeem(member=regular, reward=reward, store=pho_store, reference="r").points_spent == list_cost


@pytest.mark.django_db
def test_the_tier_discount_decides_whether_points_suffice(tiers, pho_store):
    diamond = MemberFactory(points=48)
    TierStatus.objects.create(member=diamond, tier=tiers["DIAMOND"])
    vip = MemberFactory(points=48)
    TierStatus.objects.create(member=vip, tier=tiers["VIP"])
    reward = RewardFactory(points_cost=50)
    assert reward_redeem(member=diamond, reward=reward, store=pho_store, reference="d").points_spent == 48
    refused(InsufficientPoints, member=vip, reward=reward, store=pho_store, reference="v")


@pytest.mark.django_db
def test_without_any_tier_configured_the_list_price_applies(member, pho_store):
    assert not Tier.objects.exists()
    voucher = reward_redeem(member=member, reward=RewardFactory(points_cost=50), store=pho_store, reference="a")
    assert voucher.points_spent == 50


# --- Issuing without points ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_campaign_gives_a_hidden_reward_once_per_reference(member):
    reward = percent_reward(code="BDAY20", percent=D(20), cap=D(200_000), is_visible=False, points_cost=0)
    reference = f"campaign:BIRTHDAY-MONTHLY:2025:member:{member.pk}"
    voucher = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN, reference=reference)
    again = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN, reference=reference)
    assert again.pk == voucher.pk
    assert Voucher.objects.count() == 1
    assert (voucher.channel, voucher.points_spent) == ("campaign", 0)
    member.refresh_from_db()
    assert member.points_balance == 500


@pytest.mark.django_db
def test_staff_must_give_a_reason(member):
    staff = get_user_model().objects.create_user("staff", is_staff=True)
    reward = RewardFactory()
    before = written_state()
    with pytest.raises(ValidationFailed) as caught:
        voucher_issue(reward=reward, member=member, channel=Voucher.Channel.STAFF, issued_by=staff, reason="  ")
    assert "reason" in caught.value.errors
    assert written_state() == before
    voucher = voucher_issue(
        reward=reward, member=member, channel=Voucher.Channel.STAFF, issued_by=staff, reason="Khách phàn nàn"
    )
    assert (voucher.issued_by, voucher.reason) == (staff, "Khách phàn nàn")


@pytest.mark.django_db
def test_issuing_respects_stock_and_limit(member, other_member):
    reward = RewardFactory(stock=1, limit_per_member=1)
    voucher_issue(reward=reward, member=member, channel=Voucher.Channel.IMPORT)
    before = written_state()
    with pytest.raises(RewardUnavailable):
        voucher_issue(reward=reward, member=other_member, channel=Voucher.Channel.CAMPAIGN)
    assert written_state() == before


@pytest.mark.django_db
def test_issuing_for_points_goes_through_the_exchange(member):
    with pytest.raises(ValueError):
        voucher_issue(reward=RewardFactory(), member=member, channel=Voucher.Channel.POINTS)


@pytest.mark.django_db
def test_the_member_is_told_in_the_issuing_transaction(member, pho_store):
    MessageTemplate.objects.create(
        event="voucher-issued",
        channel="sms",
        language="vi",
        body="{voucher_name}: {voucher_code} đến {voucher_expires_at}",
    )
    member.consent_sms_at = timezone.now()
    member.save(update_fields=["consent_sms_at"])
    voucher = reward_redeem(member=member, reward=RewardFactory(name="Voucher 50.000đ"), store=pho_store, reference="a")
    message = Message.objects.get(member=member, event="voucher-issued")
    assert message.dedupe_key == f"voucher-issued:{voucher.pk}"
    assert voucher.code in message.body
    assert "Voucher 50.000đ" in message.body


@pytest.mark.django_db
def test_a_drawn_code_already_taken_is_drawn_again(monkeypatch, member, other_member):
    reward = RewardFactory()
    taken = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)
    draws = iter([taken.code, "K7QM-4XRT"])
    monkeypatch.setattr(issuing, "voucher_code_generate", lambda: next(draws))
    fresh = voucher_issue(reward=reward, member=other_member, channel=Voucher.Channel.CAMPAIGN)
    assert fresh.code == "K7QM-4XRT"
    assert Voucher.objects.count() == 2
