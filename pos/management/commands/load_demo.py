from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from members.demo import demo_members_load
from pos.demo import demo_staff_load
from stores.demo import demo_stores_load


class Command(BaseCommand):
    help = (
        "Build the demo programme of demo-programme.md. Safe to run again: changes nothing the second time."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            stores_created = demo_stores_load()
            members_created = demo_members_load()
            staff = demo_staff_load()
        self.stdout.write(
            _("Demo programme: %(count)d brands and stores created.") % {"count": stores_created}
        )
        self.stdout.write(_("Demo programme: %(count)d members created.") % {"count": members_created})
        for username, role, password in staff:
            self.stdout.write(
                _("Staff user %(username)s (%(role)s) created, password: %(password)s")
                % {"username": username, "role": _(role), "password": password}
            )
