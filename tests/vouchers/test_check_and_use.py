"""Checking a voucher against a cart (a pure read), using it exactly once, giving it back after a
full refund, voiding it."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from loyalty_site.core.errors import ValidationFailed
from members.services import member_merge
from tests.factories import MemberFactory
from tests.vouchers.factories import RewardFactory, b2g1_reward, free_item_reward, percent_reward
from tests.vouchers.helpers import cart_of, written_state
from vouchers.errors import (
    VoucherExpired,
    VoucherNotApplicable,
    VoucherNotFound,
    VoucherNotVoidable,
    VoucherUsed,
)
from vouchers.models import Voucher
from vouchers.services import (
    Reason,
    reward_redeem,
    voucher_check,
    voucher_issue,
    voucher_return,
    voucher_use,
    voucher_void,
)

D = Decimal
PHO_CART = cart_of(("PHO-BO", 2, 65_000, "pho"), ("TRA-DA", 2, 5_000, "drink"))  # 140,000


def issue(reward, member, **kwargs):
    return voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN, **kwargs)


def check(voucher_or_code, member, store, cart=PHO_CART, payable=None, at=None):
    code = voucher_or_code.code if isinstance(voucher_or_code, Voucher) else voucher_or_code
    return voucher_check(
        code=code,
        member=member,
        store=store,
        cart=cart,
        payable=cart.subtotal if payable is None else D(payable),
        at=at or timezone.now(),
    )


# --- Checking -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_valid_voucher_gives_its_discount(member, pho_store):
    voucher = issue(RewardFactory(value=D(50_000)), member)
    result = check(voucher, member, pho_store)
    assert result.ok
    assert result.discount == D(50_000)
    assert result.voucher.pk == voucher.pk
    assert result.error() is None


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["lower", "nodash", "spaces"])
def test_codes_are_found_in_any_case_with_or_without_dash(member, pho_store, typed):
    voucher = issue(RewardFactory(), member)
    code = {
        "lower": voucher.code.lower(),
        "nodash": voucher.code.replace("-", ""),
        "spaces": " " + voucher.code.replace("-", " ").lower() + " ",
    }[typed]
    result = check(code, member, pho_store)
    assert result.ok
    assert result.code == voucher.code


@pytest.mark.django_db
def test_a_check_writes_nothing(member, pho_store):
    voucher = issue(RewardFactory(), member)
    before = written_state()
    check(voucher, member, pho_store)
    check("NONE-XXXX", member, pho_store)
    assert written_state() == before


@pytest.mark.django_db
def test_unknown_code(member, pho_store):
    result = check("ZZZZ-ZZZZ", member, pho_store)
    assert result.reason == Reason.NOT_FOUND
    assert isinstance(result.error(), VoucherNotFound)
    with pytest.raises(VoucherNotFound):
        result.raise_if_refused()


@pytest.mark.django_db
def test_another_members_voucher(member, other_member, pho_store):
    voucher = issue(RewardFactory(), member)
    result = check(voucher, other_member, pho_store)
    assert result.reason == Reason.OTHER_MEMBER
    assert result.error().code == "voucher-not-applicable"
    assert check(voucher, None, pho_store).reason == Reason.OTHER_MEMBER


@pytest.mark.django_db
def test_a_merged_members_vouchers_belong_to_the_survivor(pho_store):
    merged, survivor = MemberFactory(), MemberFactory()
    voucher = issue(RewardFactory(), merged)
    member_merge(survivor=survivor, merged=merged, merged_by=None, reason="Trùng")
    assert check(voucher, survivor, pho_store).ok


@pytest.mark.django_db
def test_used_void_and_expired(member, pho_store):
    reward = RewardFactory()
    used = issue(reward, member)
    voucher_use(voucher=used, store=pho_store, sale_reference="sale:1", at=timezone.now())
    void = issue(reward, member)
    voucher_void(voucher=void, by=None, reason="Nhầm")
    expiring = issue(reward, member)
    after_expiry = expiring.expires_at + datetime.timedelta(seconds=1)

    assert check(used, member, pho_store).reason == Reason.USED
    assert check(used, member, pho_store).error().code == "voucher-used"
    assert check(void, member, pho_store).reason == Reason.VOID
    assert check(void, member, pho_store).error().code == "voucher-not-applicable"
    result = check(expiring, member, pho_store, at=after_expiry)
    assert (result.reason, result.error().code) == (Reason.EXPIRED, "voucher-expired")
    assert check(expiring, member, pho_store, at=expiring.expires_at - datetime.timedelta(seconds=1)).ok


@pytest.mark.django_db
def test_brand_limits(member, pho_store, cafe_store, cafe_brand):
    voucher = issue(RewardFactory(brands=[cafe_brand]), member)
    assert check(voucher, member, cafe_store).ok
    result = check(voucher, member, pho_store)
    assert (result.reason, result.error().code) == (Reason.NOT_HERE, "voucher-not-applicable")


@pytest.mark.django_db
def test_store_limits(member, pho_store, pho_store_2):
    voucher = issue(RewardFactory(stores=[pho_store_2]), member)
    assert check(voucher, member, pho_store_2).ok
    assert check(voucher, member, pho_store).reason == Reason.NOT_HERE


@pytest.mark.django_db
def test_brands_and_stores_add_up(member, pho_store, pho_store_2, cafe_store, cafe_brand):
    voucher = issue(RewardFactory(brands=[cafe_brand], stores=[pho_store_2]), member)
    assert check(voucher, member, cafe_store).ok
    assert check(voucher, member, pho_store_2).ok
    assert check(voucher, member, pho_store).reason == Reason.NOT_HERE


@pytest.mark.django_db
def test_minimum_invoice_is_on_the_subtotal(member, pho_store):
    voucher = issue(RewardFactory(value=D(50_000), min_invoice=D(100_000)), member)
    below = cart_of(("PHO-BO", 1, 65_000, "pho"), ("TRA-DA", 6, 5_000, "drink"))  # 95,000
    exactly = cart_of(("PHO-BO", 1, 65_000, "pho"), ("TRA-DA", 7, 5_000, "drink"))  # 100,000
    result = check(voucher, member, pho_store, cart=below)
    assert (result.reason, result.error().code) == (Reason.BELOW_MINIMUM, "voucher-not-applicable")
    assert check(voucher, member, pho_store, cart=exactly).discount == D(50_000)
    # The tier discount already lowered what is left to pay: the minimum still counts the goods.
    assert check(voucher, member, pho_store, cart=exactly, payable=95_000).discount == D(50_000)


@pytest.mark.django_db
def test_cash_voucher_never_takes_the_total_below_zero(member, pho_store):
    voucher = issue(RewardFactory(value=D(50_000)), member)
    cart = cart_of(("TRA-DA", 6, 5_000, "drink"))
    assert check(voucher, member, pho_store, cart=cart).discount == D(30_000)
    assert check(voucher, member, pho_store, cart=cart, payable=12_000).discount == D(12_000)
    assert check(voucher, member, pho_store, cart=cart, payable=0).reason == Reason.NOTHING_TO_DISCOUNT


@pytest.mark.django_db
def test_percent_free_item_and_b2g1_through_the_check(member, cafe_store):
    cart = cart_of(("CF-SUA", 4, 35_000, "coffee"), ("CF-DEN", 3, 29_000, "coffee"))  # 227,000
    pct = issue(percent_reward(percent=D(10), cap=D(20_000)), member)
    free = issue(free_item_reward(category="coffee"), member)
    b2g1 = issue(b2g1_reward(), member)
    assert check(pct, member, cafe_store, cart=cart).discount == D(20_000)
    assert check(free, member, cafe_store, cart=cart).discount == D(29_000)
    # 35, 35, 35 | 35, 29, 29 | 29: free 35,000 and 29,000.
    assert check(b2g1, member, cafe_store, cart=cart).discount == D(64_000)
    no_coffee = cart_of(("BANH", 3, 20_000, "cake"))
    assert check(b2g1, member, cafe_store, cart=no_coffee).reason == Reason.NOTHING_TO_DISCOUNT


# --- Using --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_use_marks_it_used_once(member, pho_store):
    voucher = issue(RewardFactory(), member)
    at = timezone.now()
    voucher_use(voucher=voucher, store=pho_store, sale_reference="sale:1", at=at)
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_at, voucher.used_store, voucher.used_sale_reference) == (
        "used",
        at,
        pho_store,
        "sale:1",
    )
    before = written_state()
    with pytest.raises(VoucherUsed):
        voucher_use(voucher=voucher, store=pho_store, sale_reference="sale:2", at=at)
    assert written_state() == before


@pytest.mark.django_db
def test_using_again_for_the_same_sale_is_a_retry(member, pho_store):
    voucher = issue(RewardFactory(), member)
    at = timezone.now()
    voucher_use(voucher=voucher, store=pho_store, sale_reference="sale:1", at=at)
    before = written_state()
    voucher_use(voucher=voucher, store=pho_store, sale_reference="sale:1", at=at)
    assert written_state() == before


@pytest.mark.django_db
def test_an_expired_or_void_voucher_cannot_be_used(member, pho_store):
    reward = RewardFactory()
    expired = issue(reward, member)
    void = issue(reward, member)
    voucher_void(voucher=void, by=None, reason="Nhầm")
    before = written_state()
    with pytest.raises(VoucherExpired):
        voucher_use(voucher=expired, store=pho_store, sale_reference="s", at=expired.expires_at)
    with pytest.raises(VoucherNotApplicable):
        voucher_use(voucher=void, store=pho_store, sale_reference="s", at=timezone.now())
    assert written_state() == before


# --- Giving back --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_fully_refunded_sale_gives_the_voucher_back(member, pho_store):
    voucher = issue(RewardFactory(), member)
    voucher_use(voucher=voucher, store=pho_store, sale_reference="sale:1", at=timezone.now())
    assert voucher_return(voucher=voucher, reason="Hoàn tiền toàn bộ", sale_reference="sale:1") is True
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_at, voucher.returned_from_sale) == ("issued", None, "sale:1")
    assert voucher.return_reason == "Hoàn tiền toàn bộ"
    assert check(voucher, member, pho_store).ok
    # A retry of the same refund: still given back, nothing written.
    before = written_state()
    assert voucher_return(voucher=voucher, reason="Hoàn tiền toàn bộ", sale_reference="sale:1") is True
    assert written_state() == before


@pytest.mark.django_db
def test_an_expired_voucher_is_not_given_back(member, pho_store):
    voucher = issue(RewardFactory(), member)
    voucher_use(voucher=voucher, store=pho_store, sale_reference="sale:1", at=timezone.now())
    before = written_state()
    assert voucher_return(voucher=voucher, reason="Hoàn", sale_reference="sale:1", at=voucher.expires_at) is False
    assert written_state() == before


@pytest.mark.django_db
def test_only_a_voucher_used_on_that_sale_is_given_back(member, pho_store):
    voucher = issue(RewardFactory(), member)
    assert voucher_return(voucher=voucher, reason="Hoàn", sale_reference="sale:1") is False
    voucher_use(voucher=voucher, store=pho_store, sale_reference="sale:1", at=timezone.now())
    before = written_state()
    assert voucher_return(voucher=voucher, reason="Hoàn", sale_reference="sale:2") is False
    assert written_state() == before


# --- Voiding ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_void_needs_a_reason_and_an_issued_voucher(member, pho_store):
    staff = get_user_model().objects.create_user("staff", is_staff=True)
    voucher = issue(RewardFactory(), member)
    before = written_state()
    with pytest.raises(ValidationFailed):
        voucher_void(voucher=voucher, by=staff, reason=" ")
    assert written_state() == before
    voucher_void(voucher=voucher, by=staff, reason="Phát nhầm")
    voucher.refresh_from_db()
    assert (voucher.status, voucher.voided_by, voucher.void_reason) == ("void", staff, "Phát nhầm")
    used = issue(RewardFactory(), member)
    voucher_use(voucher=used, store=pho_store, sale_reference="sale:1", at=timezone.now())
    before = written_state()
    for target in (voucher, used):
        with pytest.raises(VoucherNotVoidable):
            voucher_void(voucher=target, by=staff, reason="Lần nữa")
    assert written_state() == before


@pytest.mark.django_db
def test_points_exchanged_vouchers_work_the_same(member, pho_store):
    voucher = reward_redeem(member=member, reward=RewardFactory(), store=pho_store, reference="a")
    assert check(voucher, member, pho_store).ok
