"""Writes of scheduled campaigns: their configuration and schedules (`campaigns`), and their
runs (`campaign_runs`)."""

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

__all__ = [
    "campaign_activate",
    "campaign_check_runnable",
    "campaign_deactivate",
    "campaign_reference",
    "campaign_reference_prefix",
    "campaign_run",
    "campaign_save",
    "campaign_schedule_sync",
    "campaign_send_test",
]
