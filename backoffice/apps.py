from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles_after_migrate(sender, using="default", **kwargs):
    # Permissions of models added by later migrations exist only once post_migrate has
    # created them; `backoffice` is the last app, so by now they all do.
    from django.contrib.auth.models import Group, Permission

    from backoffice.roles import roles_sync

    if Permission._meta.db_table in connections[using].introspection.table_names():
        roles_sync(Group, Permission)


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        post_migrate.connect(_sync_roles_after_migrate, sender=self, dispatch_uid="backoffice-roles-sync")
