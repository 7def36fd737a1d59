from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from members.selectors import balances_implausible, ledger_drift, store_credit_drift


class Command(BaseCommand):
    help = (
        "Verify every member's cached balance and debt, every point lot and every store-credit "
        "balance against the ledger entries, and look for implausible balances (above LEDGER_PLAUSIBLE_BALANCE_MAX or "
        "--ceiling). Prints each finding; exits with status 1 if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--ceiling",
            type=int,
            default=None,
            help="Points above which a balance is implausible (default: the LEDGER_PLAUSIBLE_BALANCE_MAX setting).",
        )

    def handle(self, *args, **options):
        drift = ledger_drift()
        for item in drift:
            self.stdout.write(
                _("Drift: %(what)s #%(id)d is %(cached)d, the entries say %(expected)d.")
                % {"what": item.what, "id": item.object_id, "cached": item.cached, "expected": item.expected}
            )
        credit_drift = store_credit_drift()
        for item in credit_drift:
            self.stdout.write(
                _("Store credit drift: %(what)s #%(id)d is %(cached)s VND, the entries say %(expected)s VND.")
                % {"what": item.what, "id": item.object_id, "cached": item.cached, "expected": item.expected}
            )
        drift = drift + credit_drift
        ceiling = options["ceiling"] if options["ceiling"] is not None else settings.LEDGER_PLAUSIBLE_BALANCE_MAX
        implausible = balances_implausible(ceiling=ceiling)
        for member_id, code, balance in implausible:
            self.stdout.write(
                _("Implausible balance: member %(code)s (#%(id)d) holds %(balance)d points, above %(ceiling)d.")
                % {"code": code, "id": member_id, "balance": balance, "ceiling": ceiling}
            )
        if drift or implausible:
            raise CommandError(
                _("The ledger has %(drift)d differences and %(implausible)d implausible balances.")
                % {"drift": len(drift), "implausible": len(implausible)}
            )
        self.stdout.write(_("The ledger is consistent."))
