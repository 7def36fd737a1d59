"""Periodic tasks of the campaigns app declared in code: none.

Each campaign has its own periodic task, created, changed and switched on or off with the
campaign by `campaigns.runs.services.campaign_schedule_sync` (named "campaign: <CODE>"). They are
not declared here because they are data, not code: `schedules_sync` must neither create them
nor undo what marketing set in the admin."""

from loyalty_site.core.schedules import Schedule

SCHEDULES: list[Schedule] = []
