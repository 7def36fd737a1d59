"""Celery's autodiscovery imports `<app>.tasks`: the tasks live in the packages of their jobs."""

from campaigns.audiences.tasks import member_import_check_task, member_import_run_task, segments_refresh_task
from campaigns.runs.tasks import run_campaign, send_messages_before_the_move

__all__ = [
    "member_import_check_task",
    "member_import_run_task",
    "run_campaign",
    "segments_refresh_task",
    "send_messages_before_the_move",
]
