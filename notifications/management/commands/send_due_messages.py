from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from notifications.services import outbox_sweep


class Command(BaseCommand):
    help = (
        "Sweep the outbox once: queue due messages (sent at once when Celery runs eagerly) and take back "
        "stale claims. What the scheduler runs every minute."
    )

    def handle(self, *args, **options):
        result = outbox_sweep()
        self.stdout.write(
            _("Outbox: %(dispatched)d queued, %(reclaimed)d taken back, %(failed)d failed.")
            % {"dispatched": result.dispatched, "reclaimed": result.reclaimed, "failed": result.failed}
        )
