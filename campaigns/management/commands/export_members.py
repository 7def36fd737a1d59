"""`python manage.py export_members OUTFILE [--group NAME] [--user USERNAME]`

Every member (or one static group's) to OUTFILE, xlsx or csv by its extension, read and written
in chunks. With --user the export is refused unless that user holds `members.export_members`
(the admin's rule); without it, whoever runs commands on the server is trusted as an operator."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from campaigns.audiences.exports.admin_actions import can_export
from campaigns.audiences.exports.members import FORMATS, members_export, members_export_queryset
from loyalty_site.core.errors import DomainError
from loyalty_site.core.importexport.services import export_record
from members.models import Member


class Command(BaseCommand):
    help = "Export members to an Excel (.xlsx) or CSV (.csv) file."

    def add_arguments(self, parser):
        parser.add_argument("outfile", help="where to write: a .xlsx or .csv file")
        parser.add_argument("--group", default="", help="only the members of this static customer group")
        parser.add_argument("--user", default="", help="export as this user (needs the export permission)")

    def handle(self, *args, **options):
        path = options["outfile"]
        fmt = os.path.splitext(path)[1].lower().lstrip(".")
        if fmt not in FORMATS:
            raise CommandError(_("The file name must end in .xlsx or .csv."))
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("No user is named %(name)s.") % {"name": options["user"]})
            if not can_export(user):
                raise CommandError(_("%(name)s may not export members.") % {"name": user.get_username()})
        try:
            queryset = members_export_queryset(group_name=options["group"])
            count = members_export(queryset=queryset, fmt=fmt, target=path)
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from None
        except OSError as exc:
            raise CommandError(_("Cannot write %(file)s: %(error)s") % {"file": path, "error": exc.strerror}) from None
        export_record(
            user=user,
            model=Member,
            file_format=fmt,
            rows=count,
            filters=f"command export_members group={options['group'] or '-'}",
            username="manage.py export_members",
        )
        self.stdout.write(_("%(count)d members written to %(file)s.") % {"count": count, "file": path})
