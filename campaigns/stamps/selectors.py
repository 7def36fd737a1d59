"""The active stamp cards of a brand, from the cache (read by every sale)."""

from __future__ import annotations

from campaigns.stamps.models import StampCard
from loyalty_site.core.config_cache import config_cached

STAMP_CARDS_CACHE_KEY = "campaigns:stamp-cards:v1"
STAMP_CARDS_CACHE_SECONDS = 60


def _load() -> tuple[StampCard, ...]:
    return tuple(StampCard.objects.filter(is_active=True).select_related("reward").order_by("code"))


def stamp_cards_for(*, brand_id: int) -> list[StampCard]:
    """The active stamp cards of the brand: no query once cached."""
    cards = config_cached(STAMP_CARDS_CACHE_KEY, _load, timeout=STAMP_CARDS_CACHE_SECONDS)
    return [card for card in cards if card.brand_id == brand_id]
