"""The life of a `MemberImport`: record the upload, check it (the preview, a dry run), confirm,
import. The admin, the command and the Celery tasks all come through here.

Big files (more rows than MEMBER_IMPORT_BACKGROUND_ROWS, judged from the size the sheet
declares) are checked and imported by Celery tasks, started after the record is committed;
smaller ones in the request. The tasks are idempotent: each claims the record by its status,
and the import re-checks the status under a row lock inside its write transaction, so a task
delivered twice (Redis visibility timeout) imports once."""

from __future__ import annotations

import datetime
import logging
import os
import re
import zipfile
from typing import IO, Any

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from campaigns.audiences.imports.engine import ImportOptions, ImportResult, members_import
from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.imports.limits import limit
from campaigns.audiences.imports.models import MemberImport
from campaigns.audiences.imports.report import error_report_build
from campaigns.audiences.imports.safety import workbook_check
from loyalty_site.core.dispatch import task_enqueue_after_commit

logger = logging.getLogger(__name__)
Status = MemberImport.Status


# --- Creating the record ----------------------------------------------------------------------


def member_import_create(
    *,
    upload: IO[bytes],
    file_name: str,
    created_by=None,
    source: str = MemberImport.Source.ADMIN,
    skip_invalid: bool = False,
    dry_run: bool = False,
    group_name: str = "",
) -> MemberImport:
    """Store the uploaded file with its record. A file that fails the upload guards is
    recorded as refused (with the reason) and never opened by openpyxl."""
    upload.seek(0, os.SEEK_END)
    size = upload.tell()
    upload.seek(0)
    record = MemberImport(
        created_by=created_by,
        source=source,
        original_name=os.path.basename(file_name)[:255] or "import.xlsx",
        file_size=size,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        group_name=" ".join((group_name or "").split()),
    )
    refusal = ""
    try:
        workbook_check(upload, size=size)
    except ImportRefused as exc:
        refusal = str(exc.detail)
    if size <= limit("MEMBER_IMPORT_MAX_UPLOAD_BYTES"):
        record.file.save(get_valid_filename(record.original_name) or "import.xlsx", File(upload), save=False)
    if refusal:
        record.status = Status.REFUSED
        record.message = refusal
        record.finished_at = timezone.now()
    record.full_clean(exclude=["file"])
    record.save()
    return record


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')
_BYTES_PER_ROW = 100  # a low guess, for sheets that do not declare their size


def estimated_rows(record: MemberImport) -> int:
    """The number of rows the sheets say they have (their `dimension`), read from the first
    bytes of each sheet without opening the workbook (openpyxl would load every shared string
    first); from the sheet's size when it does not say. A LibreOffice file may claim 2^20 rows:
    it then simply goes to the background."""
    try:
        with record.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
            rows = 0
            for info in archive.infolist():
                if not info.filename.startswith("xl/worksheets/") or not info.filename.endswith(".xml"):
                    continue
                with archive.open(info) as sheet:
                    head = sheet.read(4096)
                found = _DIMENSION.search(head)
                rows = max(rows, int(found.group(1)) if found else info.file_size // _BYTES_PER_ROW)
            return rows
    except (OSError, ValueError, zipfile.BadZipFile):
        return 0


def runs_in_background(record: MemberImport) -> bool:
    return estimated_rows(record) > limit("MEMBER_IMPORT_BACKGROUND_ROWS")


# --- Progress and results ---------------------------------------------------------------------


def _progress_writer(record: MemberImport):
    last = {"percent": -1}

    def write(percent: int, stage: str) -> None:
        if percent == last["percent"]:
            return
        last["percent"] = percent
        MemberImport.objects.filter(pk=record.pk).update(progress=percent, stage=stage[:100])
        record.progress, record.stage = percent, stage

    return write


def _store_result(record: MemberImport, result: ImportResult) -> list[str]:
    record.rows_total = result.rows_total
    record.rows_new = result.new
    record.rows_updated = result.updated
    record.rows_unchanged = result.unchanged
    record.rows_conflicts = result.conflicts
    record.rows_errors = result.error_count
    record.points_credited = result.points_credited
    record.preview = {
        "rows": result.sample_dicts(),
        "columns": result.columns,
        "ignored": result.ignored_columns,
    }
    fields = [
        "rows_total",
        "rows_new",
        "rows_updated",
        "rows_unchanged",
        "rows_conflicts",
        "rows_errors",
        "points_credited",
        "preview",
    ]
    if result.errors or result.differences:
        stem = os.path.splitext(get_valid_filename(record.original_name))[0] or "import"
        record.error_report.save(f"{stem}-bao-cao-loi.xlsx", ContentFile(error_report_build(result)), save=False)
        fields.append("error_report")
    elif record.error_report:
        record.error_report = ""
        fields.append("error_report")
    return fields


def _finish(record: MemberImport, status: str, message: str, fields: list[str]) -> MemberImport:
    record.status = status
    record.message = message
    record.progress = 100
    record.finished_at = timezone.now()
    record.save(update_fields=[*fields, "status", "message", "progress", "finished_at", "updated_at"])
    return record


def _summary(result: ImportResult, *, written: bool) -> str:
    counts = {
        "new": result.new,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "errors": result.error_count,
        "conflicts": result.conflicts,
    }
    if written:
        text = _("Imported: %(new)d new, %(updated)d updated, %(unchanged)d unchanged.") % counts
        if result.error_count:
            text += " " + _("%(errors)d rows with errors were skipped (see the error report).") % counts
    elif result.error_count and not result.rejected:
        text = (
            _("Checked: %(new)d new, %(updated)d updated, %(unchanged)d unchanged, %(errors)d rows with errors.")
            % counts
        )
    elif result.error_count:
        text = (
            _(
                "%(errors)d rows have errors: nothing was imported. Correct them (see the error report) and import "
                "the file again, or choose to import the valid rows and skip the others."
            )
            % counts
        )
    else:
        text = _("Checked: %(new)d new, %(updated)d updated, %(unchanged)d unchanged, no errors.") % counts
    if result.conflicts:
        text += (
            " "
            + _("%(conflicts)d rows hold values that differ from the member records; the records were kept.") % counts
        )
    return text


def _options(record: MemberImport, *, dry_run: bool, by=None) -> ImportOptions:
    return ImportOptions(
        skip_invalid=record.skip_invalid,
        dry_run=dry_run,
        group_name=record.group_name,
        created_by=by or record.confirmed_by or record.created_by,
        import_id=record.pk,
        file_name=record.original_name,
    )


def _run_engine(record: MemberImport, options: ImportOptions, *, echo=None, **hooks: Any) -> ImportResult:
    """Run the engine on the record's file; progress goes to the record (and to `echo`, the
    command's output, when given)."""
    write = _progress_writer(record)

    def progress(percent: int, stage: str) -> None:
        write(percent, stage)
        if echo is not None:
            echo(percent, stage)

    with record.file.open("rb") as handle:
        return members_import(handle, options=options, progress=progress, **hooks)


# --- Checking (the preview) -------------------------------------------------------------------


def member_import_check(*, member_import_id: int) -> MemberImport | None:
    """Read and check the file against the members without writing anything: the preview.
    Claims the record (uploaded -> checking); a record in any other state is left alone."""
    claimed = MemberImport.objects.filter(pk=member_import_id, status__in=[Status.UPLOADED, Status.CHECKING]).update(
        status=Status.CHECKING, progress=0, stage=""
    )
    if not claimed:
        return None
    record = MemberImport.objects.get(pk=member_import_id)
    try:
        result = _run_engine(record, _options(record, dry_run=True))
    except ImportRefused as exc:
        return _finish(record, Status.REFUSED, str(exc.detail), [])
    except Exception:
        logger.exception("member import %s: check failed", record.pk)
        return _finish(record, Status.FAILED, _("The check failed unexpectedly; nothing was imported."), [])
    fields = _store_result(record, result)
    record.checked_at = timezone.now()
    if record.dry_run:
        return _finish(record, Status.CHECKED, _summary(result, written=False), [*fields, "checked_at"])
    record.status = Status.CHECKED
    record.message = _summary(result, written=False)
    record.progress = 100
    record.save(update_fields=[*fields, "checked_at", "status", "message", "progress", "updated_at"])
    return record


def member_import_start_check(*, member_import: MemberImport) -> MemberImport:
    """Check now (small file) or in the background (big file, after the commit)."""
    if member_import.status != Status.UPLOADED:
        return member_import
    if runs_in_background(member_import):
        from campaigns.audiences.tasks import member_import_check_task

        MemberImport.objects.filter(pk=member_import.pk).update(status=Status.CHECKING, stage=_("Waiting for a worker"))
        member_import.status = Status.CHECKING
        # A broker that is down leaves the import "waiting for a worker" (logged); never an error.
        task_enqueue_after_commit(member_import_check_task, member_import.pk)
        return member_import
    return member_import_check(member_import_id=member_import.pk) or member_import


# --- Confirming and importing -----------------------------------------------------------------


def member_import_confirm(*, member_import: MemberImport, by=None, skip_invalid: bool | None = None) -> MemberImport:
    """The manager confirms a checked import: it is queued, then imported now (small file) or
    by a worker (big file). The file is checked again against the members as they are then."""
    with transaction.atomic():
        record = MemberImport.objects.select_for_update().get(pk=member_import.pk)
        if record.status != Status.CHECKED or record.dry_run:
            raise ImportRefused(_("This import is not waiting for confirmation."))
        if skip_invalid is not None:
            record.skip_invalid = skip_invalid
        if record.rows_errors and not record.skip_invalid:
            raise ImportRefused(
                _("The file has rows with errors: choose to skip them, or correct the file and upload it again.")
            )
        record.status = Status.QUEUED
        record.confirmed_by = by
        record.confirmed_at = timezone.now()
        record.progress = 0
        record.stage = ""
        record.save(
            update_fields=["status", "skip_invalid", "confirmed_by", "confirmed_at", "progress", "stage", "updated_at"]
        )
    if record.rows_total > limit("MEMBER_IMPORT_BACKGROUND_ROWS"):
        from campaigns.audiences.tasks import member_import_run_task

        task_enqueue_after_commit(member_import_run_task, record.pk)
        return record
    return member_import_run(member_import_id=record.pk) or record


def member_import_run(*, member_import_id: int) -> MemberImport | None:
    """Import a queued record. Idempotent: only a queued (or interrupted) import runs, and the
    write transaction re-checks the status under a row lock, so two deliveries import once."""
    claimed = MemberImport.objects.filter(pk=member_import_id, status__in=[Status.QUEUED, Status.IMPORTING]).update(
        status=Status.IMPORTING, progress=0
    )
    if not claimed:
        return None
    record = MemberImport.objects.get(pk=member_import_id)
    return _import(record, dry_run=False)


def _import(record: MemberImport, *, dry_run: bool, echo=None) -> MemberImport:
    state: dict[str, Any] = {}

    def before_write() -> bool:
        locked = MemberImport.objects.select_for_update().get(pk=record.pk)
        return locked.status == Status.IMPORTING

    def after_write(result: ImportResult) -> None:
        # Inside the write transaction: the record says "imported" exactly when the data is in.
        fields = _store_result(record, result)
        state["finished"] = _finish(record, Status.IMPORTED, _summary(result, written=True), fields)

    try:
        result = _run_engine(
            record, _options(record, dry_run=dry_run), echo=echo, before_write=before_write, after_write=after_write
        )
    except ImportRefused as exc:
        return _finish(record, Status.REFUSED, str(exc.detail), [])
    except Exception:
        logger.exception("member import %s failed", record.pk)
        return _finish(record, Status.FAILED, _("The import failed unexpectedly; nothing was imported."), [])
    if "finished" in state:
        return state["finished"]
    fields = _store_result(record, result)
    if dry_run:
        return _finish(record, Status.CHECKED, _summary(result, written=False), fields)
    if result.rejected:
        return _finish(record, Status.REJECTED, _summary(result, written=False), fields)
    record.refresh_from_db()
    return record


# --- The command line -------------------------------------------------------------------------


def member_import_from_file(
    *,
    path: str,
    created_by=None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    group_name: str = "",
    progress=None,
) -> MemberImport:
    """`manage.py import_members`: record, check and import in one go (no confirmation step),
    in this process."""
    with open(path, "rb") as handle:
        record = member_import_create(
            upload=handle,
            file_name=os.path.basename(path),
            created_by=created_by,
            source=MemberImport.Source.COMMAND,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            group_name=group_name,
        )
    if record.status == Status.REFUSED:
        return record
    MemberImport.objects.filter(pk=record.pk).update(status=Status.IMPORTING)
    record.status = Status.IMPORTING
    return _import(record, dry_run=dry_run, echo=progress)


# --- Retention ---------------------------------------------------------------------------------


def member_import_files_purge(*, now=None) -> int:
    """Delete the uploaded files and error reports of imports uploaded more than
    MEMBER_IMPORT_FILE_RETENTION_DAYS ago (personal data kept no longer than needed); the
    records stay, with a note. Imports still running keep theirs until the next run. Returns how
    many imports lost their files. Running it again deletes nothing more."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=limit("MEMBER_IMPORT_FILE_RETENTION_DAYS"))
    due = (
        MemberImport.objects.filter(created_at__lt=cutoff)
        .exclude(status__in=MemberImport.RUNNING)
        .exclude(file="", error_report="")
        .order_by("pk")
    )
    purged = 0
    for record in due.iterator(chunk_size=200):
        for field in (record.file, record.error_report):
            if field:
                field.delete(save=False)
        note = _("Files deleted after %(days)d days (retention).") % {
            "days": limit("MEMBER_IMPORT_FILE_RETENTION_DAYS")
        }
        MemberImport.objects.filter(pk=record.pk).update(
            file="", error_report="", message=f"{record.message}\n{note}".strip(), updated_at=now
        )
        purged += 1
    if purged:
        logger.info("member imports: files of %d imports deleted (retention)", purged)
    return purged
