"""django-import-export in the console: the "Export" every list staff may take to Excel, and
the preview / confirm import of the programme's configuration.

`RecordedExportMixin` (on a ModelAdmin, before `admin.ModelAdmin`): an "Export" button on the
list (the current filters and search apply) and an "Export selected" action, as xlsx or csv
(settings `IMPORT_EXPORT_FORMATS`), formula-safe through the resources
(`SafeModelResource`), shown and allowed only with the model's `export_<model>` permission
(`IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"`), and recorded: every file built writes an
`ExportRecord` (who, which list, format, rows, filters).

`ConfigImportMixin`: the library's import with its preview and confirm, allowed only with the
model's `import_<model>` permission and the add and change permissions (an import creates and
changes rows); uploads capped in size and checked for ZIP bombs; any row refused and nothing is
written, on the preview and on the confirm alike."""

from __future__ import annotations

import zipfile

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils.translation import gettext
from import_export.admin import ExportActionMixin, ImportMixin
from import_export.formats.base_formats import BINARY_FORMATS
from import_export.forms import ImportForm, SelectableFieldsExportForm

from loyalty_site.core.importexport.services import export_record

IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_UNZIPPED_BYTES = 50 * 1024 * 1024


class ExportFieldsForm(SelectableFieldsExportForm):
    """The columns to export, labelled by their headers (the library shows the field names)."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return str(field.column_name) if field is not None else field_name


class RecordedExportMixin(ExportActionMixin):
    export_form_class = ExportFieldsForm
    import_export_change_list_template = "admin/importexport/change_list_export.html"
    # Keep each model's own change form (the library would replace it with its own).
    change_form_template = None
    show_change_form_export = False
    # Excel reads a csv as UTF-8 only with the byte-order mark.
    to_encoding = "utf-8-sig"

    def init_change_list_template(self):
        """The library's list template extends `ie_base_change_list_template`; point it at the
        model's own list template when there is one, so its buttons stay."""
        super().init_change_list_template()
        if self.ie_base_change_list_template == "admin/change_list.html":
            opts = self.model._meta
            try:
                found = select_template(
                    [
                        f"admin/{opts.app_label}/{opts.model_name}/change_list.html",
                        f"admin/{opts.app_label}/change_list.html",
                    ]
                )
            except TemplateDoesNotExist:
                return
            self.ie_base_change_list_template = found.template.name

    def get_export_data(self, file_format, request, queryset, **kwargs):
        """The library's, plus the record once the file is built."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        dataset = self.get_data_for_export(
            request, queryset, force_native_type=type(file_format) in BINARY_FORMATS, **kwargs
        )
        data = file_format.export_data(dataset)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            data = data.encode(encoding)
        export_record(
            user=request.user,
            model=self.model,
            file_format=file_format.get_extension(),
            rows=len(dataset),
            filters=request.GET.urlencode(),
        )
        return data


class SafeImportForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(size)d MB: a programme's configuration never is.")
                % {"size": IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        upload.seek(0)
        if zipfile.is_zipfile(upload):
            with zipfile.ZipFile(upload) as archive:
                if sum(member.file_size for member in archive.infolist()) > IMPORT_MAX_UNZIPPED_BYTES:
                    raise forms.ValidationError(gettext("The workbook unpacks to more than it could hold."))
        upload.seek(0)
        return upload


class ConfigImportMixin(ImportMixin):
    import_form_class = SafeImportForm

    def has_import_permission(self, request):
        opts = self.opts
        return super().has_import_permission(request) and all(
            request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}") for action in ("add", "change")
        )

    def process_result(self, result, request):
        """The library logs the rows and reports success even when the confirm step was rolled
        back; here a refused confirm says so, logs nothing and goes back to the import page."""
        if result.has_errors() or result.has_validation_errors():
            self.message_user(
                request,
                gettext("Nothing was imported: some rows are refused now. Upload the file again to see which."),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:{}_{}_import".format(*self.get_model_info())))
        return super().process_result(result, request)

    def get_import_data_kwargs(self, **kwargs):
        # A row refused on the confirm step (the data changed since the preview) rolls the
        # whole import back, as on the preview.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}


class ConfigImportExportMixin(ConfigImportMixin, RecordedExportMixin):
    import_export_change_list_template = "admin/importexport/change_list_import_export.html"
