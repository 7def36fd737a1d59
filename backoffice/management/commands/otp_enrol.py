import io

import segno
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from backoffice.signin import totp_device_enrol


class Command(BaseCommand):
    help = (
        "Set up the authenticator app of a Programme lead or superuser: prints the otpauth:// link "
        "and its QR code, to scan with Google Authenticator, Microsoft Authenticator, FreeOTP..."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="Replace the user's authenticator (a lost or new phone)."
        )

    def handle(self, *args, username, replace, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user is named %(username)s.") % {"username": username})
        try:
            device = totp_device_enrol(user=user, replace=replace)
        except ValueError:
            raise CommandError(
                _("%(username)s already has an authenticator app; add --replace to set up a new one.")
                % {"username": username}
            ) from None
        url = device.config_url
        self.stdout.write(_("Scan this QR code with the authenticator app of %(username)s:") % {"username": username})
        qr = io.StringIO()
        segno.make(url, error="m").terminal(out=qr, compact=True)
        self.stdout.write(qr.getvalue(), ending="")
        self.stdout.write(_("or enter this link in it:"))
        self.stdout.write(url)
