from django.utils.translation import gettext as _

from loyalty_site.core.management.base import AsOfCommand
from members.services import points_expire_due


class Command(AsOfCommand):
    help = (
        "Expire the points that are due (points whose last usable day is before the given day). "
        "Safe to run again for the same day: it expires nothing twice."
    )

    def handle_as_of(self, as_of, **options):
        result = points_expire_due(as_of=as_of)
        self.stdout.write(
            _("%(points)d points expired in %(lots)d lots of %(members)d members.")
            % {"points": result.points, "lots": result.lots, "members": result.members}
        )
