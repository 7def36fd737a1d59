"""Pieces every app's admin uses: read-only bases for the records services write, the way a
service's refusal (`loyalty_site.core.errors.DomainError`) is shown to staff, and money and
points written the reader's way (`FormattedNumbersMixin`)."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from loyalty_site.core.counting import EstimatedCountPaginator
from loyalty_site.core.errors import DomainError
from loyalty_site.core.formats import format_points, format_vnd
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


def refusal_text(exc: DomainError) -> str:
    """A refusal as one line for a message to staff: its detail, then each field's message,
    every text once."""
    details = [str(exc.detail)]
    for field_messages in exc.errors.values():
        details.extend(str(m) for m in field_messages)
    return " ".join(dict.fromkeys(details))


def refusal_onto_form(form: forms.BaseForm, exc: DomainError, *, rename: Mapping[str, str] | None = None) -> None:
    """Show a refusal on the form that asked for it: each message on its field when the form has
    that field (`rename` maps the service's argument names to the form's field names), on the
    form as a whole otherwise; a refusal without field errors shows its detail."""
    rename = rename or {}
    for field_name, field_messages in exc.errors.items():
        target = rename.get(field_name, field_name)
        for message in field_messages:
            form.add_error(target if target in form.fields else None, str(message))
    if not exc.errors:
        form.add_error(None, str(exc.detail))


# Integer fields that hold points without saying so in their name.
POINTS_FIELD_NAMES = {"balance_after", "remaining"}


def number_kind(model, name: object) -> str | None:
    """ "money" for an amount field of `model` (a VND `DecimalField` of the money shape),
    "points" for an integer field of points, None for anything else (a callable, a relation,
    a percentage, a count)."""
    if not isinstance(name, str):
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if (
        isinstance(field, models.DecimalField)
        and field.max_digits == MONEY_MAX_DIGITS
        and field.decimal_places == MONEY_DECIMAL_PLACES
    ):
        return "money"
    if isinstance(field, models.IntegerField) and ("points" in name or name in POINTS_FIELD_NAMES):
        return "points"
    return None


_FORMATTERS = {"money": format_vnd, "points": format_points}


def formatted_column(model, name: str):
    """The admin column (or read-only field) showing `model.<name>` as `1.250.000 đ` /
    `12.500 điểm`, titled and sorted like the field itself."""
    field = model._meta.get_field(name)
    formatter = _FORMATTERS[number_kind(model, name)]

    def column(obj):
        value = getattr(obj, name)
        return None if value is None else formatter(value)

    column.__name__ = name  # the CSS class of the column, as for the field itself
    return admin.display(description=field.verbose_name, ordering=name)(column)


class FormattedNumbersMixin:
    """For a ModelAdmin or an inline: the money and points fields of its model shown in the list
    and as read-only fields the reader's way (`loyalty_site.core.formats`), `1.250.000 đ` and
    `12.500 điểm` instead of `1250000.00` and `12500`. Editable fields stay plain inputs.

    Model fields are found by their shape (`number_kind`), so an admin needs no list of them; a
    column is swapped for a display function only where the value is read, never typed."""

    def _formatted_columns(self) -> dict[str, object]:
        columns = self.__dict__.get("_number_columns")
        if columns is None:
            model = self.model
            columns = {
                f.name: formatted_column(model, f.name)
                for f in model._meta.get_fields()
                if getattr(f, "concrete", False) and number_kind(model, f.name)
            }
            self._number_columns = columns
        return columns

    def _swap(self, names, only=None):
        columns = self._formatted_columns()
        return [columns[n] if isinstance(n, str) and n in columns and (only is None or n in only) else n for n in names]

    def get_list_display(self, request):
        return self._swap(super().get_list_display(request))

    def get_readonly_fields(self, request, obj=None):
        readonly = self._swap(super().get_readonly_fields(request, obj))
        if not self.has_change_permission(request, obj):
            # Every field shows read-only: the form must leave out the swapped ones too.
            readonly += [c for c in self._formatted_columns().values() if c not in readonly]
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            only = {n for n in super().get_readonly_fields(request, obj) if isinstance(n, str)}
        else:
            only = None  # nothing is editable: Django shows every field read-only
        return [
            (title, {**options, "fields": [self._swap(f, only) if isinstance(f, list | tuple) else
                                           self._swap([f], only)[0] for f in options.get("fields", ())]})
            for title, options in fieldsets
        ]  # fmt: skip


class ReadOnlyModelAdmin(FormattedNumbersMixin, admin.ModelAdmin):
    """Records the services write (ledgers, history, outboxes): looked at, never added, edited
    or deleted in the admin, whatever the user's permissions say."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(FormattedNumbersMixin, admin.TabularInline):
    """The rows of a record shown on its page, never added, edited or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LargeTableAdminMixin:
    """For the changelist of a table that grows to millions of rows: no `COUNT(*)` of the whole
    table (`show_full_result_count`), an estimated count past 1,000 rows
    (`loyalty_site.core.counting`), no facet counts on the filters. Its default ordering and its
    filters must be served by indexes: tests/test_console_scale.py checks the plans."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
