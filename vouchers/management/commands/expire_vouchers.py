from django.utils.translation import gettext as _

from loyalty_site.core.management.base import AsOfCommand
from vouchers.services import vouchers_expire


class Command(AsOfCommand):
    help = (
        "Mark expired the issued vouchers whose last valid day is before the given day. "
        "Safe to run again for the same day: it expires nothing twice."
    )

    def handle_as_of(self, as_of, **options):
        count = vouchers_expire(as_of=as_of)
        self.stdout.write(_("%(count)d vouchers expired.") % {"count": count})
