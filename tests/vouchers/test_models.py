"""Reward.clean(): each kind requires its own fields and refuses the others'."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty_site.core.errors import ValidationFailed
from tests.vouchers.factories import RewardFactory
from vouchers.models import Reward
from vouchers.services import reward_save

D = Decimal


def errors_of(**fields) -> dict:
    base = {"code": "TEST", "name": "Thử", "points_cost": 10, "validity": Reward.Validity.DAYS, "validity_days": 30}
    reward = Reward(**{**base, **fields})
    with pytest.raises(ValidationError) as caught:
        reward.full_clean()
    return caught.value.message_dict


def is_valid(**fields) -> bool:
    base = {"code": "TEST", "name": "Thử", "points_cost": 10, "validity": Reward.Validity.DAYS, "validity_days": 30}
    try:
        Reward(**{**base, **fields}).full_clean()
    except ValidationError:
        return False
    return True


@pytest.mark.django_db
class TestEachKindNeedsItsOwnFields:
    def test_cash_needs_a_value(self):
        assert "value" in errors_of(kind=Reward.Kind.CASH)
        assert is_valid(kind=Reward.Kind.CASH, value=D(50_000))

    def test_percent_needs_a_percent_and_a_cap(self):
        errors = errors_of(kind=Reward.Kind.PERCENT)
        assert {"percent", "cap"} <= set(errors)
        assert "cap" in errors_of(kind=Reward.Kind.PERCENT, percent=D(10))
        assert "percent" in errors_of(kind=Reward.Kind.PERCENT, percent=D(101), cap=D(1000))
        assert is_valid(kind=Reward.Kind.PERCENT, percent=D(10), cap=D(100_000))

    def test_free_item_needs_a_sku_or_a_category(self):
        assert "sku" in errors_of(kind=Reward.Kind.FREE_ITEM)
        assert is_valid(kind=Reward.Kind.FREE_ITEM, sku="CF-DEN")
        assert is_valid(kind=Reward.Kind.FREE_ITEM, category="coffee")

    def test_buy_x_get_y_needs_both_quantities_and_what_it_applies_to(self):
        errors = errors_of(kind=Reward.Kind.BUY_X_GET_Y)
        assert {"sku", "buy_quantity", "free_quantity"} <= set(errors)
        errors = errors_of(kind=Reward.Kind.BUY_X_GET_Y, category="coffee", buy_quantity=0, free_quantity=1)
        assert "buy_quantity" in errors
        assert is_valid(kind=Reward.Kind.BUY_X_GET_Y, category="coffee", buy_quantity=2, free_quantity=1)

    def test_fields_of_another_kind_are_refused(self):
        errors = errors_of(kind=Reward.Kind.CASH, value=D(50_000), percent=D(10), category="coffee")
        assert set(errors) == {"percent", "category"}

    def test_validity_needs_its_days_or_date(self):
        assert "validity_days" in errors_of(kind=Reward.Kind.CASH, value=D(1), validity_days=None)
        assert "valid_until" in errors_of(kind=Reward.Kind.CASH, value=D(1), validity=Reward.Validity.FIXED_DATE)
        assert is_valid(kind=Reward.Kind.CASH, value=D(1), validity=Reward.Validity.END_OF_MONTH, validity_days=None)

    def test_issuing_window_must_end_after_it_starts(self):
        start = timezone.now()
        assert "active_until" in errors_of(kind=Reward.Kind.CASH, value=D(1), active_from=start, active_until=start)

    def test_code_is_capitals(self):
        assert "code" in errors_of(kind=Reward.Kind.CASH, value=D(1), code="cash50k")


@pytest.mark.django_db
def test_stock_cannot_go_below_what_was_issued(member, pho_store):
    from vouchers.services import reward_redeem

    reward = RewardFactory(stock=5, points_cost=10)
    reward_redeem(member=member, reward=reward, store=pho_store, reference="r1")
    reward_redeem(member=member, reward=reward, store=pho_store, reference="r2")
    reward.refresh_from_db()
    reward.stock = 1
    with pytest.raises(ValidationFailed) as caught:
        reward_save(reward=reward)
    assert "stock" in caught.value.errors
    assert Reward.objects.get(pk=reward.pk).stock == 5


@pytest.mark.django_db
def test_an_edit_never_writes_back_a_stale_issued_count(member, pho_store):
    from vouchers.services import reward_redeem

    reward = RewardFactory(stock=5, points_cost=10)
    stale = Reward.objects.get(pk=reward.pk)  # loaded by the admin form before the exchange
    reward_redeem(member=member, reward=reward, store=pho_store, reference="r1")
    stale.name = "Tên mới"
    reward_save(reward=stale)
    fresh = Reward.objects.get(pk=reward.pk)
    assert (fresh.name, fresh.issued_count) == ("Tên mới", 1)


@pytest.mark.django_db
def test_the_database_refuses_an_oversold_stock():
    reward = RewardFactory(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reward.objects.filter(pk=reward.pk).update(issued_count=2)


@pytest.mark.django_db
def test_fixed_date_before_the_window_opens_is_refused():
    start = timezone.now() + datetime.timedelta(days=10)
    assert "valid_until" in errors_of(
        kind=Reward.Kind.CASH,
        value=D(1),
        validity=Reward.Validity.FIXED_DATE,
        valid_until=timezone.localdate(),
        active_from=start,
    )
