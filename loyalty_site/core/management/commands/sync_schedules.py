from django.core.management.base import BaseCommand

from loyalty_site.core.schedules import declared_schedules, schedules_sync


class Command(BaseCommand):
    help = "Create or update the periodic tasks declared in code (enabled flags are left alone)."

    def handle(self, *args, **options):
        created = schedules_sync()
        self.stdout.write(f"{len(declared_schedules())} schedules declared, {len(created)} created.")
