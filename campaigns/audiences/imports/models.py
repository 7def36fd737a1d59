"""The record of every Excel import of customer lists: who, when, which file, with which
options, how far it has got and what it did. Written only by `campaigns.audiences.imports.services`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MemberImport(models.Model):
    """One upload of a customer list, from the admin or from `manage.py import_members`.

    The life of an admin import: uploaded -> checking (the preview, in the background for big
    files) -> checked (waiting for the manager to confirm) -> queued -> importing -> imported;
    or refused (not a readable workbook, too big, no phone column...), rejected (rows with
    errors and "skip invalid rows" not chosen: nothing was written) or failed (an unexpected
    error: nothing was written). The counts are those of the last check or of the import."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        CHECKING = "checking", _("Checking the file")
        CHECKED = "checked", _("Checked, waiting for confirmation")
        QUEUED = "queued", _("Waiting to be imported")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        REJECTED = "rejected", _("Not imported: rows with errors")
        REFUSED = "refused", _("Refused: not a readable customer list")
        FAILED = "failed", _("Failed")

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        COMMAND = "command", _("Command line")

    RUNNING = (Status.CHECKING, Status.QUEUED, Status.IMPORTING)
    FINISHED = (Status.IMPORTED, Status.REJECTED, Status.REFUSED, Status.FAILED)

    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    file = models.FileField(_("file"), upload_to="member_imports/%Y/%m/", max_length=255, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("file size (bytes)"), default=0)

    skip_invalid = models.BooleanField(
        _("skip invalid rows"),
        default=False,
        help_text=_("Import the valid rows and report the others; otherwise a file with errors imports nothing."),
    )
    dry_run = models.BooleanField(_("dry run"), default=False, help_text=_("Check only, write nothing."))
    group_name = models.CharField(
        _("customer group"), max_length=200, blank=True, help_text=_("Static group the imported members join.")
    )

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    message = models.TextField(_("message"), blank=True)

    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_new = models.PositiveIntegerField(_("new"), default=0)
    rows_updated = models.PositiveIntegerField(_("updated"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rows_conflicts = models.PositiveIntegerField(
        _("with differences"),
        default=0,
        help_text=_("Rows whose values differ from what the member record already holds (the record is kept)."),
    )
    rows_errors = models.PositiveIntegerField(_("errors"), default=0)
    points_credited = models.PositiveBigIntegerField(_("opening points credited"), default=0)

    preview = models.JSONField(_("row sample"), default=dict, blank=True, editable=False)
    error_report = models.FileField(
        _("error report"), upload_to="member_imports/reports/%Y/%m/", max_length=255, blank=True
    )
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "-created_at"], name="campaigns_memberimport_status")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING
