"""What the rewards page offers a member, where a web exchange is recorded, and the one-time
reference its confirmation carries. Reads only: the exchange itself is `vouchers.services.
reward_redeem`, the till's own service.

Decisions (member-web.md leaves them to us):
- **The member's brands** are the brand of their home store (the store they enrolled at). The
  stores a member bought at are the POS app's records, which the portal does not read (`pos` and
  `portal` never import each other); a member without a home store sees every brand's
  catalogue.
- **The store an exchange records** is the member's home store; without one, the first active
  store (by brand code, then store code) of a brand that offers the reward. The store gives the
  brand check (`reward_redeem` refuses a reward not offered at its brand, as at a till) and the
  time zone of the voucher's expiry.
- **Double taps** never pay twice: the confirmation form carries a random nonce signed together
  with the member and the reward (`exchange_reference_make`); the exchange's reference is
  `web:<member>:<nonce>`, on which `reward_redeem` is idempotent. A replay of the form returns
  the same voucher; a form signed for another member or reward, altered, or older than a day is
  refused."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.core import signing
from django.utils import timezone

from campaigns.audiences.membership import reward_open_to_member_audience, rewards_open_to_member
from members.models import Member
from members.selectors import member_spendable_points
from stores.models import Store
from vouchers.models import Reward
from vouchers.selectors import reward_offered_at_brand, reward_open_to_member, rewards_catalogue, rewards_points_cost

_SALT = "portal.exchange"
EXCHANGE_FORM_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class Offer:
    reward: Reward
    points_cost: int
    points_missing: int
    store: Store

    @property
    def affordable(self) -> bool:
        return self.points_missing == 0


def member_home_store(member: Member) -> Store | None:
    if member.home_store_id is None:
        return None
    return Store.objects.select_related("brand").filter(pk=member.home_store_id).first()


def _brand_stores() -> list[Store]:
    """One active store per brand, the first by code: where a member without a home store's
    exchange is recorded."""
    first: dict[int, Store] = {}
    for store in Store.objects.filter(is_active=True).select_related("brand").order_by("brand__code", "code"):
        first.setdefault(store.brand_id, store)
    return list(first.values())


def member_offers(*, member: Member, at: datetime.datetime | None = None) -> list[Offer]:
    """The catalogue of the member's brands at the member's tier price, cheapest first; each
    reward once, with the store its exchange would record."""
    at = at or timezone.now()
    home = member_home_store(member)
    stores = [home] if home is not None else _brand_stores()
    by_reward: dict[int, tuple[Reward, Store]] = {}
    for store in stores:
        for reward in rewards_catalogue(store=store, at=at, member=member):
            by_reward.setdefault(reward.pk, (reward, store))
    # A reward kept for some customer groups or segments is shown to their members only.
    rewards = rewards_open_to_member(rewards=[reward for reward, _store in by_reward.values()], member_id=member.pk)
    by_reward = {reward.pk: by_reward[reward.pk] for reward in rewards}
    costs = rewards_points_cost(rewards=rewards, member=member)
    spendable = member_spendable_points(member=member, at=at) if rewards else 0
    offers = [
        Offer(
            reward=reward,
            points_cost=costs[reward.pk],
            points_missing=max(0, costs[reward.pk] - spendable),
            store=store,
        )
        for reward, store in by_reward.values()
    ]
    return sorted(offers, key=lambda offer: (offer.points_cost, offer.reward.code))


def exchange_store(*, member: Member, reward: Reward) -> Store | None:
    """The store a web exchange of `reward` records, or None when the reward is not offered at
    any of the member's brands (or is hidden, or kept for other tiers, or for customer groups or
    segments the member is not in): the page then refuses without calling the service.
    `reward_redeem` checks all but the groups and segments again under its lock (it cannot see
    campaigns; a member taken out of a group in the same instant may still exchange once)."""
    if not reward.is_visible or not reward_open_to_member(reward=reward, member=member):
        return None
    if not reward_open_to_member_audience(reward=reward, member_id=member.pk):
        return None
    home = member_home_store(member)
    stores = [home] if home is not None else _brand_stores()
    for store in stores:
        if reward_offered_at_brand(reward=reward, brand=store.brand_id):
            return store
    return None


def exchange_reference_make(*, member: Member, reward: Reward) -> str:
    """The signed one-time reference of a confirmation form for this member and reward."""
    return signing.dumps({"m": member.pk, "r": reward.code, "n": secrets.token_urlsafe(16)}, salt=_SALT, compress=True)


def exchange_reference_read(*, signed: str, member: Member, reward: Reward) -> str | None:
    """The exchange's idempotency reference from a submitted form, or None when the form was not
    made for this member and reward, was altered, or has expired."""
    if not signed or len(signed) > 300:
        return None
    try:
        payload = signing.loads(signed, salt=_SALT, max_age=EXCHANGE_FORM_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(payload, dict) or payload.get("m") != member.pk or payload.get("r") != reward.code:
        return None
    nonce = payload.get("n")
    if not isinstance(nonce, str) or not nonce:
        return None
    return f"web:{member.pk}:{nonce}"
