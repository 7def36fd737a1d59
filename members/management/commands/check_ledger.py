from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from members.selectors import ledger_drift


class Command(BaseCommand):
    help = (
        "Verify every member's cached balance and debt and every point lot against the ledger "
        "entries. Prints each difference; exits with status 1 if there is any."
    )

    def handle(self, *args, **options):
        drift = ledger_drift()
        for item in drift:
            self.stdout.write(
                _("Drift: %(what)s #%(id)d is %(cached)d, the entries say %(expected)d.")
                % {"what": item.what, "id": item.object_id, "cached": item.cached, "expected": item.expected}
            )
        if drift:
            raise CommandError(_("The ledger has %(count)d differences.") % {"count": len(drift)})
        self.stdout.write(_("The ledger is consistent."))
