from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_schedules_after_migrate(sender, using="default", **kwargs):
    from django_celery_beat.models import PeriodicTask

    from loyalty_site.core.schedules import schedules_sync

    if PeriodicTask._meta.db_table in connections[using].introspection.table_names():
        schedules_sync()


class CoreConfig(AppConfig):
    name = "loyalty_site.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        post_migrate.connect(_sync_schedules_after_migrate, sender=self, dispatch_uid="core-schedules-sync")
        from loyalty_site.core import checks  # noqa: F401 -- registers the deploy checks
        from loyalty_site.core.importexport import records_admin  # noqa: F401 -- registers the export records
