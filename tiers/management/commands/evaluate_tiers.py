from django.utils.translation import gettext as _

from loyalty_site.core.management.base import AsOfCommand
from tiers.services import tiers_evaluate


class Command(AsOfCommand):
    help = (
        "End the tier retention cycles that ended before the day (default: today in the programme's time zone): "
        "renew, keep in grace, or downgrade and notify. Safe to run again for the same day."
    )

    def handle_as_of(self, as_of, **options):
        summary = tiers_evaluate(as_of=as_of)
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
