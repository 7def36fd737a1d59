"""The staff roles (backoffice/roles.py), created on a fresh database and synced on an existing one."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from backoffice.roles import roles_sync

    # On a fresh database the permissions do not exist yet (post_migrate makes them): make them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    from backoffice.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("stores", "0001_initial"),
        ("core", "0001_initial"),
        # The roles were created by pos.0001_roles until they moved here; on a database that
        # applied it, this migration runs once more and brings the groups to what ROLES says.
        ("pos", "0001_roles"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
