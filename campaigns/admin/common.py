"""Pieces every campaigns admin uses."""

from __future__ import annotations

from django.contrib import admin

from loyalty_site.core.errors import DomainError


def error_text(exc: DomainError) -> str:
    details = [str(exc.detail)]
    for field_messages in exc.errors.values():
        details.extend(str(m) for m in field_messages)
    return " ".join(dict.fromkeys(details))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by services only: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
