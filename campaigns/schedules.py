"""Periodic tasks of the campaigns app declared in code: the retention of uploaded import files.

Each campaign has its own periodic task, created, changed and switched on or off with the
campaign by `campaigns.runs.services.campaign_schedule_sync` (named "campaign: <CODE>"). They are
not declared here because they are data, not code: `schedules_sync` must neither create them
nor undo what marketing set in the admin."""

from loyalty_site.core.schedules import Schedule

SCHEDULES: list[Schedule] = [
    Schedule(
        name="campaigns: delete uploaded member-import files past their retention",
        task="campaigns.member_import_files_purge",
        minute="41",
        hour="3",
        description="Deletes uploaded customer lists and error reports older than MEMBER_IMPORT_FILE_RETENTION_DAYS.",
    ),
    Schedule(
        name="campaigns: refresh the stored members of every segment",
        task="campaigns.segments_refresh",
        minute="17",
        hour="2",
        description="What promotions targeted at a segment read at the till (campaigns.audiences.refresh).",
    ),
]
