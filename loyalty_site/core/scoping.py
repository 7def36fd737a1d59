"""Staff scoping: some staff (store managers) may see only the rows of their own stores and
brands. Who is scoped, and how each model's rows reach a store, is decided on the top floor (the
function the setting `STAFF_SCOPE` names, `backoffice.scoping.queryset_scoped`); this bottom
layer only offers the hook, so that every app's admin applies it without importing the floor
above (the same indirection as `AUTH_USER_MODEL`)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.db.models import QuerySet
from django.utils.module_loading import import_string


@functools.cache
def _scope_function():
    path = getattr(settings, "STAFF_SCOPE", "")
    return import_string(path) if path else None


def staff_scope(user, queryset: QuerySet) -> QuerySet:
    """`queryset` cut down to what `user` may see (unchanged for staff who see every brand)."""
    scope = _scope_function()
    return queryset if scope is None else scope(user, queryset)


class StaffScopedAdminMixin:
    """Lists, change pages (found through `get_queryset`), actions (the changelist's queryset),
    exports, the autocomplete endpoint and the choices of foreign keys on forms: all scoped."""

    def get_queryset(self, request):
        return staff_scope(request.user, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = staff_scope(request.user, field.queryset)
        return field
