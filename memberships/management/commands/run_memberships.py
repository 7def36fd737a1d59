from django.utils.translation import gettext as _

from loyalty_site.core.management.base import AsOfCommand
from memberships.services import memberships_daily


class Command(AsOfCommand):
    help = (
        "Paid membership's daily job: expire ended periods, send the renewal reminders due, give this month's "
        "voucher. Safe to run again for the same day: it does nothing twice."
    )

    def handle_as_of(self, as_of, **options):
        run = memberships_daily(as_of=as_of)
        self.stdout.write(
            _("%(expired)d paid memberships expired, %(reminded)d reminders, %(vouchers)d monthly vouchers issued.")
            % {"expired": run.expired, "reminded": run.reminded, "vouchers": run.vouchers.issued}
        )
