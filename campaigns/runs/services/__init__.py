"""Writes of scheduled campaigns: their configuration and schedules (`campaigns`), and their
runs (`campaign_runs`), and the vouchers members claim from a campaign's link (`claims`)."""

from campaigns.runs.services.campaign_runs import (
    campaign_check_runnable,
    campaign_reference,
    campaign_reference_prefix,
    campaign_run,
    campaign_send_test,
)
from campaigns.runs.services.campaigns import (
    campaign_activate,
    campaign_deactivate,
    campaign_save,
    campaign_schedule_sync,
)
from campaigns.runs.services.claims import Claim, campaign_claim

__all__ = [
    "Claim",
    "campaign_activate",
    "campaign_check_runnable",
    "campaign_claim",
    "campaign_deactivate",
    "campaign_reference",
    "campaign_reference_prefix",
    "campaign_run",
    "campaign_save",
    "campaign_schedule_sync",
    "campaign_send_test",
]
