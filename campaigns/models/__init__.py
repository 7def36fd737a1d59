"""The campaigns app's models, one module per part of the domain; import them from here."""

from campaigns.models.campaigns import Campaign, CampaignDelivery, CampaignRun
from campaigns.models.groups import CustomerGroup, GroupMembership, Segment
from campaigns.models.imports import MemberImport as MemberImport
from campaigns.models.promotions import Promotion, PromotionApplication
from campaigns.models.referral import ReferralProgramme

__all__ = [
    "Campaign",
    "CampaignDelivery",
    "CampaignRun",
    "CustomerGroup",
    "GroupMembership",
    "Promotion",
    "PromotionApplication",
    "ReferralProgramme",
    "Segment",
]
