import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError
from tiers.services import tiers_evaluate


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Give the day as YYYY-MM-DD, e.g. 2025-01-31.")) from None


class Command(BaseCommand):
    help = (
        "End the tier retention cycles that ended before the day (default: today in the programme's time zone): "
        "renew, keep in grace, or downgrade and notify. Safe to run again for the same day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=_day, default=None, help="YYYY-MM-DD (a local date).")

    def handle(self, *args, as_of=None, **options):
        try:
            summary = tiers_evaluate(as_of=as_of)
        except DomainError as exc:
            messages = [str(m) for field in exc.errors.values() for m in field] or [str(exc.detail)]
            raise CommandError(" ".join(messages)) from None
        self.stdout.write(
            _(
                "Tiers evaluated for %(day)s: %(renewed)d cycles renewed, %(downgraded)d members downgraded, "
                "%(kept)d kept by a guarantee, %(grace)d in their grace period, %(messages)d messages."
            )
            % {
                "day": summary.as_of.isoformat(),
                "renewed": summary.renewed,
                "downgraded": summary.downgraded,
                "kept": summary.kept_by_guarantee,
                "grace": summary.in_grace,
                "messages": summary.messages,
            }
        )
        for (source, target), count in sorted(summary.moves.items()):
            line = _("  %(source)s → %(target)s: %(count)d") % {"source": source, "target": target, "count": count}
            self.stdout.write(line)
