import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.services import rollups_rebuild


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("%(value)s is not a date: write YYYY-MM-DD.") % {"value": value}) from exc


class Command(BaseCommand):
    help = (
        "Rebuild the daily report rollups of the local days --from to --to (both included; today and later are "
        "always read from the raw tables). Set-based: one statement per table for the whole range. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD")

    def handle(self, *args, start, end, **options):
        first, last = _date(start), _date(end)
        if last < first:
            raise CommandError(_("The end of the range comes before its start."))
        days = rollups_rebuild(start=first, end=last)
        self.stdout.write(_("Rollups rebuilt for %(count)d days.") % {"count": len(days)})
