"""Refusals of a whole file. Row errors are not exceptions: they are collected per row."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import UnprocessableError


class ImportRefused(UnprocessableError):
    """The file cannot be imported at all (not a workbook, too big, a ZIP bomb, no phone
    column...). Nothing was written; `detail` says why, in words a store manager understands."""

    code = "member-import-refused"
    title = _("This file cannot be imported.")
