"""Factories of the vouchers tests. Rewards are saved through `reward_save` like the admin
does; vouchers are only ever issued through the services."""

from __future__ import annotations

from decimal import Decimal

import factory

from vouchers.models import Reward
from vouchers.services import reward_save


class RewardFactory(factory.django.DjangoModelFactory):
    """A cash reward by default; pass `kind` and its fields for the others, and `brands` /
    `stores` as lists."""

    class Meta:
        model = Reward

    code = factory.Sequence(lambda n: f"R{n:04d}")
    name = factory.Sequence(lambda n: f"Phần thưởng {n}")
    name_en = factory.Sequence(lambda n: f"Reward {n}")
    kind = Reward.Kind.CASH
    value = Decimal(50_000)
    points_cost = 50
    validity = Reward.Validity.DAYS
    validity_days = 30

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        brands = kwargs.pop("brands", [])
        stores = kwargs.pop("stores", [])
        reward = reward_save(reward=model_class(*args, **kwargs))
        if brands:
            reward.brands.set(brands)
        if stores:
            reward.stores.set(stores)
        return reward


def percent_reward(**kwargs) -> Reward:
    return RewardFactory(
        kind=Reward.Kind.PERCENT, value=None, percent=kwargs.pop("percent", Decimal(10)),
        cap=kwargs.pop("cap", Decimal(100_000)), **kwargs,
    )  # fmt: skip


def free_item_reward(**kwargs) -> Reward:
    return RewardFactory(kind=Reward.Kind.FREE_ITEM, value=None, **kwargs)


def b2g1_reward(**kwargs) -> Reward:
    return RewardFactory(
        kind=Reward.Kind.BUY_X_GET_Y, value=None, category=kwargs.pop("category", "coffee"),
        buy_quantity=kwargs.pop("buy_quantity", 2), free_quantity=kwargs.pop("free_quantity", 1), **kwargs,
    )  # fmt: skip
