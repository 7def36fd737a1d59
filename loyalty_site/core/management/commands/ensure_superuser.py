import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Create the superuser if there is none. The password is DJANGO_SUPERUSER_PASSWORD, or a "
        "generated one printed this once, and only to a terminal."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin"))

    def handle(self, *args, username, **options):
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(
                _(
                    "Superuser %(username)s already exists (its password was printed when it was "
                    "created; to set a new one: .venv/bin/python manage.py changepassword %(username)s)."
                )
                % {"username": username}
            )
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            self.stdout.write(
                _("Superuser %(username)s created with DJANGO_SUPERUSER_PASSWORD.") % {"username": username}
            )
        elif self.stdout.isatty():
            self.stdout.write(
                _("Superuser %(username)s created. Password (shown only this once): %(password)s")
                % {"username": username, "password": password}
            )
        else:
            # Not a terminal (a deploy log, a pipe): a generated password is never written there.
            self.stdout.write(
                _(
                    "Superuser %(username)s created with a generated password, not shown outside a terminal. "
                    "Set one with: python manage.py changepassword %(username)s (or set DJANGO_SUPERUSER_PASSWORD "
                    "before creating it)."
                )
                % {"username": username}
            )
