"""`python manage.py import_members FILE [--group NAME] [--dry-run] [--skip-invalid] [--user USERNAME]`

The admin's import without the confirmation step: check, then import (unless --dry-run). By
default a file with errors imports nothing; --skip-invalid imports the valid rows. Every run is
recorded as a member import (source "command line"), with its error report."""

from __future__ import annotations

import os
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from campaigns.audiences.imports.models import MemberImport
from campaigns.audiences.imports.services import member_import_from_file

ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = "Import members from an Excel workbook (.xlsx)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx file")
        parser.add_argument("--group", default="", help="add the imported members to this static customer group")
        parser.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid rows, report the others")
        parser.add_argument("--user", default="", help="record the import as done by this user")

    def handle(self, *args, **options):
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("No user is named %(name)s.") % {"name": options["user"]})
        if not os.path.isfile(options["file"]) or not os.access(options["file"], os.R_OK):
            raise CommandError(_("Cannot read %(file)s.") % {"file": options["file"]})
        interactive = sys.stderr.isatty()

        def progress(percent: int, stage: str) -> None:
            if interactive:
                self.stderr.write(f"\r{percent:3d}% {stage:<40}", ending="")

        record = member_import_from_file(
            path=options["file"],
            created_by=user,
            skip_invalid=options["skip_invalid"],
            dry_run=options["dry_run"],
            group_name=options["group"],
            progress=progress,
        )
        if interactive:
            self.stderr.write("")
        self._report(record, dry_run=options["dry_run"])

    def _report(self, record: MemberImport, *, dry_run: bool) -> None:
        Status = MemberImport.Status
        if record.status in (Status.REFUSED, Status.FAILED):
            raise CommandError(record.message)
        counts = {
            "rows": record.rows_total,
            "new": record.rows_new,
            "updated": record.rows_updated,
            "unchanged": record.rows_unchanged,
            "conflicts": record.rows_conflicts,
            "errors": record.rows_errors,
            "points": record.points_credited,
        }
        self.stdout.write(
            _(
                "Rows: %(rows)d. New: %(new)d, updated: %(updated)d, unchanged: %(unchanged)d, "
                "with differences: %(conflicts)d, errors: %(errors)d."
            )
            % counts
        )
        for row in [r for r in (record.preview or {}).get("rows", []) if r["status"] == "error"][:ERRORS_SHOWN]:
            for note in row["notes"]:
                self.stdout.write("  " + _("Row %(row)d: %(message)s") % {"row": row["row"], "message": note})
        if record.error_report:
            self.stdout.write(_("Error report: %(path)s") % {"path": record.error_report.path})
        self.stdout.write(_("Import record: #%(id)d") % {"id": record.pk})
        if dry_run:
            self.stdout.write(_("Dry run: nothing was written."))
        elif record.status == Status.REJECTED:
            raise CommandError(record.message)
        else:
            self.stdout.write(self.style.SUCCESS(record.message))
            if record.points_credited:
                self.stdout.write(_("Opening points credited: %(points)d.") % counts)
