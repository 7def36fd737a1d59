"""Every read of the campaigns app. Import from here:
`from campaigns.selectors import promotions_applicable, referral_points_for, segment_members`."""

from campaigns.selectors.groups import (
    audience_members,
    audience_sample,
    audience_today,
    group_members,
    segment_members,
)
from campaigns.selectors.promotions import AppliedPromotion, PromotionResult, promotions_applicable
from campaigns.selectors.referral import (
    referral_points_for,
    referral_programme_get,
    referral_referrer,
)

__all__ = [
    "AppliedPromotion",
    "PromotionResult",
    "audience_members",
    "audience_sample",
    "audience_today",
    "group_members",
    "promotions_applicable",
    "referral_points_for",
    "referral_programme_get",
    "referral_referrer",
    "segment_members",
]
