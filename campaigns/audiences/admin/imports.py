"""The Excel import and the export of members in the admin.

Pages (all under the "member imports" list, which is the record of every import):
upload -> the import's page (progress while it is checked, then the preview: counts per
status, a sample of rows with what will happen to each, the error report) -> confirm -> the
same page with the result. Plus the template workbook and the export page.

Who: the import pages need `members.import_members`, the export `members.export_members`
(the store manager role has both); the records are read-only for everyone."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.audiences import tasks as import_tasks  # noqa: F401 -- registers the import tasks in every process (worker included)
from campaigns.audiences.exports.admin_actions import can_export, export_response
from campaigns.audiences.exports.members import FORMATS, members_export_queryset
from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.imports.limits import limit
from campaigns.audiences.imports.models import MemberImport
from campaigns.audiences.imports.report import TEMPLATE_FILE_NAME, template_build
from campaigns.audiences.imports.services import member_import_confirm, member_import_create, member_import_start_check
from campaigns.audiences.models import CustomerGroup
from loyalty_site.core.errors import DomainError
from loyalty_site.core.scoping import StaffScopedAdminMixin, staff_scope

IMPORT_PERMISSION = "members.import_members"
GROUP_PERMISSION = "campaigns.change_customergroup"


def can_import(user) -> bool:
    return bool(user and user.is_active and user.has_perm(IMPORT_PERMISSION))


class MemberImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Customer list (.xlsx)"),
        help_text=_("Download the template to see the columns. Existing members only get their empty fields filled."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm"}),
    )
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows and skip the rows with errors"),
        required=False,
        help_text=_("Otherwise a file with any error imports nothing."),
    )
    group = forms.ModelChoiceField(
        label=_("Add the imported members to the customer group"),
        queryset=CustomerGroup.objects.all(),
        required=False,
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is None or not user.has_perm(GROUP_PERMISSION):
            del self.fields["group"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        maximum = limit("MEMBER_IMPORT_MAX_UPLOAD_BYTES")
        if upload.size > maximum:
            raise forms.ValidationError(
                _("The file is too big: at most %(max)d MB.") % {"max": maximum // (1024 * 1024)}
            )
        return upload


class MemberImportConfirmForm(forms.Form):
    skip_invalid = forms.BooleanField(label=_("Import the valid rows and skip the rows with errors"), required=False)


class MemberExportForm(forms.Form):
    group = forms.ModelChoiceField(
        label=_("Customer group"),
        queryset=CustomerGroup.objects.all(),
        required=False,
        empty_label=_("All members"),
    )
    format = forms.ChoiceField(label=_("Format"), choices=[(f, f.upper()) for f in FORMATS], initial="xlsx")


@admin.register(MemberImport)
class MemberImportAdmin(StaffScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "original_name",
        "created_by",
        "source",
        "status",
        "progress_display",
        "rows_total",
        "rows_new",
        "rows_updated",
        "rows_unchanged",
        "rows_errors",
        "error_report_link",
    )
    list_filter = ("status", "source", "skip_invalid")
    search_fields = ("original_name", "created_by__username", "group_name")
    ordering = ("-created_at", "-pk")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    autocomplete_fields = ()
    change_list_template = "campaigns/import_changelist.html"

    # --- Permissions: the member permissions decide, the records are never edited ---------

    def has_view_permission(self, request, obj=None) -> bool:
        return can_import(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return can_import(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and (obj is None or not obj.is_running)

    # --- Columns ------------------------------------------------------------------------------

    @admin.display(description=_("progress"))
    def progress_display(self, obj: MemberImport) -> str:
        if obj.is_running:
            return format_html('<progress max="100" value="{}"></progress> {}%', obj.progress, obj.progress)
        return f"{obj.progress}%"

    @admin.display(description=_("error report"))
    def error_report_link(self, obj: MemberImport) -> str:
        if not obj.error_report:
            return "—"
        url = reverse("admin:campaigns_memberimport_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))

    # --- Pages --------------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="campaigns_memberimport_upload"),
            path("template/", view(self.template_view), name="campaigns_memberimport_template"),
            path("export/", view(self.export_view), name="campaigns_memberimport_export"),
            path("<path:object_id>/confirm/", view(self.confirm_view), name="campaigns_memberimport_confirm"),
            path("<path:object_id>/report/", view(self.report_view), name="campaigns_memberimport_report"),
            *super().get_urls(),
        ]

    def _context(self, request, title: str, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "can_import": can_import(request.user),
            "can_export": can_export(request.user),
            **extra,
        }

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:campaigns_memberimport_upload"))

    def upload_view(self, request):
        if not can_import(request.user):
            raise PermissionDenied
        form = MemberImportUploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            group = form.cleaned_data.get("group")
            record = member_import_create(
                upload=upload,
                file_name=upload.name,
                created_by=request.user,
                skip_invalid=form.cleaned_data["skip_invalid"],
                group_name=group.name if group else "",
            )
            if record.status == MemberImport.Status.REFUSED:
                messages.error(request, record.message)
            else:
                record = member_import_start_check(member_import=record)
            return HttpResponseRedirect(reverse("admin:campaigns_memberimport_change", args=[record.pk]))
        return TemplateResponse(
            request,
            "campaigns/import_upload.html",
            self._context(
                request,
                gettext("Import members from Excel"),
                form=form,
                background_rows=limit("MEMBER_IMPORT_BACKGROUND_ROWS"),
                max_rows=limit("MEMBER_IMPORT_MAX_ROWS"),
            ),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        record = self.get_object(request, unquote(object_id))
        if record is None:
            raise Http404
        if not self.has_view_permission(request, record):
            raise PermissionDenied
        preview = record.preview or {}
        confirmable = record.status == MemberImport.Status.CHECKED and not record.dry_run and can_import(request.user)
        return TemplateResponse(
            request,
            "campaigns/import_detail.html",
            self._context(
                request,
                gettext("Member import: %(name)s") % {"name": record.original_name},
                record=record,
                original=record,
                rows=preview.get("rows", []),
                columns=preview.get("columns", {}),
                ignored=preview.get("ignored", []),
                confirmable=confirmable,
                confirm_form=MemberImportConfirmForm(initial={"skip_invalid": record.skip_invalid}),
                refresh=record.is_running,
            ),
        )

    def confirm_view(self, request, object_id):
        if not can_import(request.user):
            raise PermissionDenied
        record = self.get_object(request, unquote(object_id))
        if record is None:
            raise Http404
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:campaigns_memberimport_change", args=[record.pk]))
        form = MemberImportConfirmForm(request.POST)
        form.is_valid()
        try:
            record = member_import_confirm(
                member_import=record, by=request.user, skip_invalid=form.cleaned_data.get("skip_invalid", False)
            )
        except (ImportRefused, DomainError) as exc:
            messages.error(request, str(exc.detail))
        else:
            if record.status == MemberImport.Status.IMPORTED:
                messages.success(request, record.message)
            elif record.status in MemberImport.FINISHED:
                messages.error(request, record.message)
            else:
                messages.info(request, gettext("The import runs in the background; this page shows its progress."))
        return HttpResponseRedirect(reverse("admin:campaigns_memberimport_change", args=[record.pk]))

    def report_view(self, request, object_id):
        record = self.get_object(request, unquote(object_id))
        if record is None or not record.error_report:
            raise Http404
        if not self.has_view_permission(request, record):
            raise PermissionDenied
        return FileResponse(
            record.error_report.open("rb"),
            as_attachment=True,
            filename=record.error_report.name.rsplit("/", 1)[-1],
        )

    def template_view(self, request):
        if not can_import(request.user):
            raise PermissionDenied
        response = HttpResponse(
            template_build(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILE_NAME}"'
        return response

    def export_view(self, request):
        if not can_export(request.user):
            raise PermissionDenied
        form = MemberExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            group = form.cleaned_data["group"]
            queryset = staff_scope(request.user, members_export_queryset(group_name=group.name if group else ""))
            filters = f"group={group.name}" if group else "group=-"
            return export_response(queryset, form.cleaned_data["format"], user=request.user, filters=filters)
        return TemplateResponse(
            request,
            "campaigns/import_export_members.html",
            self._context(request, gettext("Export members"), form=form),
        )
