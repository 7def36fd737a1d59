from django.utils.translation import gettext as _

from loyalty_site.core.management.base import AsOfCommand
from notifications.services import expiry_reminders_enqueue


class Command(AsOfCommand):
    help = "Enqueue the points-expiring reminders for a day (default: today). Safe to run again."

    def handle_as_of(self, as_of, **options):
        result = expiry_reminders_enqueue(as_of=as_of)
        self.stdout.write(
            _("Points-expiring reminders: %(members)d members, %(messages)d messages.")
            % {"members": result.members, "messages": result.messages}
        )
