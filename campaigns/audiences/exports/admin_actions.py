"""The export in the admin: a response builder shared by the export page of the imports admin
and the action on the member list.

The action lives here because `members` cannot import `campaigns` (layering); the member admin
composed in `backoffice` lists it, with the permission method it needs."""

from __future__ import annotations

import tempfile

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.audiences.exports.members import csv_stream, export_rows, xlsx_write
from loyalty_site.core.importexport.services import export_record
from members.models import Member

EXPORT_PERMISSION = "members.export_members"


def can_export(user) -> bool:
    return bool(user and user.is_active and user.has_perm(EXPORT_PERMISSION))


def export_response(queryset: QuerySet[Member], fmt: str, *, user, filters: str, stem: str = "thanh-vien"):
    """The member list as a download: csv streamed line by line; xlsx written (write-only
    mode) to an anonymous temporary file that is streamed back and deleted when closed. Members'
    personal data leaving the console: recorded (who, when, how many rows, which filter) before
    the first byte goes out."""
    name = f"{stem}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"
    queryset = queryset.exclude(status=Member.Status.MERGED)
    export_record(user=user, model=Member, file_format=fmt, rows=queryset.count(), filters=filters)
    if fmt == "csv":
        response = StreamingHttpResponse(csv_stream(export_rows(queryset)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    handle = tempfile.TemporaryFile()  # noqa: SIM115 -- FileResponse closes (and so deletes) it
    xlsx_write(export_rows(queryset), handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@admin.action(description=_("Export the selected members (Excel)"), permissions=["export_members"])
def export_members_action(modeladmin, request: HttpRequest, queryset: QuerySet[Member]):
    """Admin action for the member list: the selected members as xlsx. Shown only to users with
    the `members.export_members` permission (the composed member admin's
    `has_export_members_permission`), and checked again here."""
    if not can_export(request.user):
        modeladmin.message_user(request, _("You do not have permission to export members."), messages.ERROR)
        return None
    selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
    select_all = request.POST.get("select_across") == "1"
    filters = " ".join(
        filter(
            None,
            [
                "selected=all" if select_all else f"selected={len(selected)}",
                request.GET.urlencode(),
            ],
        )
    )
    return export_response(queryset, "xlsx", user=request.user, filters=filters)
