"""Every write of the campaigns app. Import from here:
`from campaigns.services import promotion_applications_record, referral_reward, campaign_run`."""

from campaigns.services.campaign_runs import (
    campaign_check_runnable,
    campaign_reference,
    campaign_run,
    campaign_send_test,
)
from campaigns.services.campaigns import (
    campaign_activate,
    campaign_deactivate,
    campaign_save,
    campaign_schedule_sync,
)
from campaigns.services.groups import (
    PhoneListResult,
    group_add_members,
    group_add_members_by_phones,
    group_create,
    group_get_or_create,
    group_remove_members,
    group_save,
)
from campaigns.services.promotions import (
    promotion_applications_record,
    promotion_applications_reverse,
    promotion_save,
    promotions_set_active,
)
from campaigns.services.referral import (
    referral_programme_update,
    referral_reference,
    referral_reward,
    referral_reward_reverse,
)

__all__ = [
    "PhoneListResult",
    "campaign_activate",
    "campaign_check_runnable",
    "campaign_deactivate",
    "campaign_reference",
    "campaign_run",
    "campaign_save",
    "campaign_schedule_sync",
    "campaign_send_test",
    "group_add_members",
    "group_add_members_by_phones",
    "group_create",
    "group_get_or_create",
    "group_remove_members",
    "group_save",
    "promotion_applications_record",
    "promotion_applications_reverse",
    "promotion_save",
    "promotions_set_active",
    "referral_programme_update",
    "referral_reference",
    "referral_reward",
    "referral_reward_reverse",
]
