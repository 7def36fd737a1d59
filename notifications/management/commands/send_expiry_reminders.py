import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError
from notifications.services import expiry_reminders_enqueue


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Give the date as YYYY-MM-DD, e.g. 2025-03-31.")) from None


class Command(BaseCommand):
    help = "Enqueue the points-expiring reminders for a day (default: today). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=_date, default=None, help="The day, YYYY-MM-DD (default: today).")

    def handle(self, *args, as_of=None, **options):
        try:
            result = expiry_reminders_enqueue(as_of=as_of)
        except DomainError as exc:
            raise CommandError(str(exc.errors or exc.detail)) from exc
        self.stdout.write(
            _("Points-expiring reminders: %(members)d members, %(messages)d messages.")
            % {"members": result.members, "messages": result.messages}
        )
