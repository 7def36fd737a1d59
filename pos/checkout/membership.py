"""The paid membership's earn multiplier in the checkout (issue 17 item 4).

The membership's multiplier is one more non-stackable multiplier (pos-api.md: "the highest
wins, they are not multiplied together, unless a promotion is marked stackable"):

    multiplier = max(best non-stackable promotion multiplier, membership multiplier)
                 x every stackable promotion multiplier

so CLUB x1.5 during a non-stackable TET-X2 earns x2, and with a stackable x2 it earns x3. The
quote and the sale both run it (through `pos.checkout.pricing.price`), so they agree."""

from __future__ import annotations

import datetime
from decimal import Decimal

from campaigns.promotions.selectors import PromotionResult
from members.models import Member
from memberships.selectors import membership_multiplier
from stores.models import Store

ONE = Decimal(1)


def multiplier_combine(*, promotions: PromotionResult, membership: Decimal) -> Decimal:
    """The effective earn multiplier of the promotions applied and the membership's."""
    if membership <= ONE:
        return promotions.multiplier
    best, stacked = ONE, ONE
    for applied in promotions.applied:
        if applied.multiplier is None:
            continue
        if applied.stackable:
            stacked *= applied.multiplier
        else:
            best = max(best, applied.multiplier)
    return max(best, membership) * stacked


def earn_multiplier(
    *, promotions: PromotionResult, member: Member | None, store: Store, at: datetime.datetime
) -> Decimal:
    """The multiplier a sale at `store` at `at` earns with: promotions and paid membership."""
    return multiplier_combine(
        promotions=promotions, membership=membership_multiplier(member=member, store=store, at=at)
    )
