"""Pieces every app's admin uses: read-only bases for the records services write, and the way a
service's refusal (`loyalty_site.core.errors.DomainError`) is shown to staff."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.contrib import admin

from loyalty_site.core.errors import DomainError


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


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Records the services write (ledgers, history, outboxes): looked at, never added, edited
    or deleted in the admin, whatever the user's permissions say."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    """The rows of a record shown on its page, never added, edited or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
