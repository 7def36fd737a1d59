from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from backoffice.demo import demo_staff_load
from campaigns.demo import demo_campaigns_load
from members.demo import demo_members_load
from notifications.demo import demo_notifications_load
from pos.demo import demo_limits_load, demo_sales_load
from stores.demo import ONLINE_STORE, demo_stores_load
from tiers.demo import demo_tiers_load
from vouchers.demo import demo_vouchers_load


class Command(BaseCommand):
    help = "Build the demo programme of demo-programme.md. Safe to run again: changes nothing the second time."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = [
                (_("brands and stores"), demo_stores_load()),
                (_("notification templates"), demo_notifications_load()),
                (_("tiers"), demo_tiers_load()),
                (_("members"), demo_members_load()),
                (_("rewards"), demo_vouchers_load()),
                (_("promotions and campaigns"), demo_campaigns_load()),
                (_("sale limits"), demo_limits_load()),
            ]
            staff = demo_staff_load()
            counts.append((_("sales"), demo_sales_load()))
        for label, count in counts:
            self.stdout.write(_("Demo programme: %(count)d %(what)s created.") % {"count": count, "what": label})
        self.stdout.write(
            _("The online shop's key (pos-api.md 1.2 orders): python manage.py create_terminal %(store)s web --online")
            % {"store": ONLINE_STORE}
        )
        # A generated password goes to a person at a terminal, never into a deploy log.
        shown = self.stdout.isatty()
        for username, role, password in staff:
            if shown:
                self.stdout.write(
                    _("Staff user %(username)s (%(role)s) created, password: %(password)s")
                    % {"username": username, "role": _(role), "password": password}
                )
            else:
                self.stdout.write(
                    _(
                        "Staff user %(username)s (%(role)s) created; its generated password is not shown outside "
                        "a terminal. Set one with: python manage.py changepassword %(username)s"
                    )
                    % {"username": username, "role": _(role)}
                )
