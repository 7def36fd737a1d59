"""Celery tasks of the Excel import: thin and idempotent (each claims its record by status;
see `campaigns.audiences.imports.services`). They take the record's id, never the file."""

from __future__ import annotations

from celery import shared_task

from campaigns.audiences.imports.services import member_import_check, member_import_files_purge, member_import_run
from campaigns.audiences.refresh import segments_refresh_all


@shared_task(name="campaigns.member_import_check", ignore_result=True, acks_late=True)
def member_import_check_task(member_import_id: int) -> None:
    member_import_check(member_import_id=member_import_id)


@shared_task(name="campaigns.member_import_run", ignore_result=True, acks_late=True)
def member_import_run_task(member_import_id: int) -> None:
    member_import_run(member_import_id=member_import_id)


@shared_task(name="campaigns.member_import_files_purge", ignore_result=True)
def member_import_files_purge_task() -> int:
    return member_import_files_purge()


@shared_task(name="campaigns.segments_refresh", ignore_result=True)
def segments_refresh_task() -> int:
    return segments_refresh_all()
