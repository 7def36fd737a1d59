from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class TimeStampedModel(models.Model):
    """Base model: creation and last-change times, stored in UTC."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class UpdatedByModel(models.Model):
    """Base of a configuration row staff edit (one row of programme settings): when it last
    changed and who changed it, both set by its service, never typed in."""

    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
        editable=False,
    )

    class Meta:
        abstract = True


def _settings_changed_by(instance, **kwargs):
    # The service sets `updated_by` (the admin's user, or None from a command): the history
    # records the same person, in the admin, from a script or from a task alike.
    return instance.updated_by


def settings_history(verbose_name) -> HistoricalRecords:
    """The change history of a settings row (`UpdatedByModel`): every save keeps the old and new
    values, who (`updated_by`) and when; shown by the admin's History button."""
    return HistoricalRecords(
        get_user=_settings_changed_by,
        verbose_name=verbose_name,
        verbose_name_plural=verbose_name,
    )


class IdempotencyRecord(models.Model):
    """One state-changing API request, keyed by (scope, key).

    The row is inserted in the same transaction as the request's effects and holds the exact
    response, so a retry returns it byte for byte and a crash leaves neither behind. The scope
    names the caller (e.g. `terminal:42`) without a foreign key, so this bottom layer does not
    depend on the apps above it."""

    scope = models.CharField(_("scope"), max_length=64)
    key = models.CharField(_("idempotency key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    response_status = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.BinaryField(_("response body"))
    response_content_type = models.CharField(_("response content type"), max_length=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="core_idempotency_scope_key_uniq")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


def copy_saved(target: models.Model, source: models.Model, fields: Iterable[str] | None = None) -> None:
    """Bring the caller's instance (`target`) up to date with the row a service saved
    (`source`, another instance of the same row): the named fields (names or attnames), or every
    field `source` has loaded. A relation whose id changed drops the related object `target`
    had cached; one `source` has cached is shared. `target` then counts as saved."""
    meta = source._meta
    chosen = meta.concrete_fields if fields is None else [meta.get_field(name) for name in fields]
    for field in chosen:
        if field.attname not in source.__dict__:
            continue  # deferred in `source`: nothing fresher to give
        setattr(target, field.attname, getattr(source, field.attname))
        if field.is_relation and field.is_cached(source):
            field.set_cached_value(target, field.get_cached_value(source))
    target._state.adding = source._state.adding
    target._state.db = source._state.db


class ExportRecord(models.Model):
    """One list taken out of the console as a file: who, which list, when, in which format, how
    many rows and with which filters. Written by `loyalty_site.core.importexport.services` once
    the file is built, never edited. The list is named by its model label (`vouchers.voucher`),
    not by a foreign key, so this bottom layer depends on no app above it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff user"),
    )
    username = models.CharField(_("user name"), max_length=150, help_text=_("Kept if the user is deleted."))
    model = models.CharField(_("list"), max_length=100)
    file_format = models.CharField(_("format"), max_length=10)
    rows = models.PositiveIntegerField(_("rows"))
    filters = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("exported at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("export record")
        verbose_name_plural = _("export records")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.username} {self.model} {self.rows}"


class DomainEvent(models.Model):
    """One change that matters outside the system (the domain-event outbox): written by
    `loyalty_site.core.events` in the same transaction as the change, so a rolled-back change
    leaves no event and a committed one always has it. Never edited, except `dispatched_at`,
    set once the webhooks have fanned it out to their endpoints. Members and subjects are named
    by id, not by foreign key, so this bottom layer depends on no app above it."""

    uuid = models.UUIDField(_("event id"), unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=40)
    subject_type = models.CharField(_("subject type"), max_length=40)
    subject_id = models.CharField(_("subject id"), max_length=64)
    member_id = models.BigIntegerField(_("member id"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict, encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("domain event")
        verbose_name_plural = _("domain events")
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["member_id", "-id"], name="core_event_member"),
            models.Index(fields=["kind", "-id"], name="core_event_kind"),
            # The fan-out reads the events not yet dispatched, oldest first: a small partial index.
            models.Index(fields=["id"], name="core_event_undispatched", condition=models.Q(dispatched_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}:{self.subject_id}"
