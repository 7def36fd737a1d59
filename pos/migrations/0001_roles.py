from django.db import migrations


class Migration(migrations.Migration):
    """Created the staff roles until they moved to `backoffice` (backoffice.0001_roles, which
    depends on this migration). Kept, empty, because databases have applied it and
    pos.0002_sales depends on it."""

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("stores", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations: list = []
