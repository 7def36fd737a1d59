"""The campaigns app's models, for Django's registry: each lives in the package of its job
(`promotions`, `referral`, `audiences`, `runs`, `calendar`, `stamps`, `credit`); import them from there."""

from campaigns.audiences.imports.models import MemberImport
from campaigns.audiences.models import CustomerGroup, GroupMembership, RewardAudience, Segment
from campaigns.calendar.models import DateSchedule, Holiday
from campaigns.credit.models import StoreCreditRule
from campaigns.promotions.models import EarnRule, Promotion, PromotionApplication
from campaigns.referral.models import ReferralProgramme
from campaigns.runs.models import Campaign, CampaignDelivery, CampaignRun
from campaigns.stamps.models import Stamp, StampCard, StampProgress

__all__ = [
    "Campaign",
    "CampaignDelivery",
    "CampaignRun",
    "CustomerGroup",
    "DateSchedule",
    "EarnRule",
    "GroupMembership",
    "Holiday",
    "MemberImport",
    "Promotion",
    "PromotionApplication",
    "ReferralProgramme",
    "RewardAudience",
    "Segment",
    "Stamp",
    "StampCard",
    "StampProgress",
    "StoreCreditRule",
]
