import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError
from vouchers.services import vouchers_expire


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Give the date as YYYY-MM-DD, e.g. 2025-01-31.")) from None


class Command(BaseCommand):
    help = (
        "Mark expired the issued vouchers whose last valid day is before the given day. "
        "Safe to run again for the same day: it expires nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=_date, default=None, help="YYYY-MM-DD; default: today in the programme's time zone."
        )

    def handle(self, *args, as_of=None, **options):
        try:
            count = vouchers_expire(as_of=as_of)
        except DomainError as exc:
            messages = [str(m) for field_messages in exc.errors.values() for m in field_messages]
            raise CommandError(" ".join(messages) or str(exc.detail)) from None
        self.stdout.write(_("%(count)d vouchers expired.") % {"count": count})
