"""The admin helpers every app shares: read-only bases and refusals shown to staff."""

from types import SimpleNamespace

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory

from loyalty_site.core.admin import ReadOnlyModelAdmin, ReadOnlyTabularInline, refusal_onto_form, refusal_text
from loyalty_site.core.errors import ConflictError, ValidationFailed
from loyalty_site.core.models import IdempotencyRecord


class _Form(forms.Form):
    new_number = forms.CharField()
    reason = forms.CharField()


def _bound_form() -> _Form:
    form = _Form({"new_number": "123", "reason": "lost"})
    assert form.is_valid()
    return form


def _superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = SimpleNamespace(is_active=True, is_staff=True, is_superuser=True, has_perm=lambda *a, **k: True)
    return request


def test_refusal_text_gives_the_detail_then_each_message_once():
    exc = ValidationFailed(
        "Not saved.", errors={"phone": ["Bad phone.", "Not saved."], "name": ["Bad phone.", "Empty."]}
    )
    assert refusal_text(exc) == "Not saved. Bad phone. Empty."


def test_refusal_text_of_a_refusal_without_field_errors_is_its_detail():
    assert refusal_text(ConflictError("Already revoked.")) == "Already revoked."


def test_field_errors_land_on_their_field_and_unknown_fields_on_the_form():
    form = _bound_form()
    refusal_onto_form(form, ValidationFailed(errors={"reason": ["Choose a reason."], "member": ["Blocked."]}))
    assert form.errors["reason"] == ["Choose a reason."]
    assert form.non_field_errors() == ["Blocked."]
    assert not form.is_valid()


def test_renamed_fields_land_on_the_forms_name_for_them():
    form = _bound_form()
    refusal_onto_form(form, ValidationFailed(errors={"number": ["In use."]}), rename={"number": "new_number"})
    assert form.errors["new_number"] == ["In use."]
    assert not form.non_field_errors()


def test_a_refusal_without_field_errors_shows_its_detail_on_the_form():
    form = _bound_form()
    refusal_onto_form(form, ConflictError("The card is no longer active."))
    assert form.non_field_errors() == ["The card is no longer active."]
    assert set(form.errors) == {"__all__"}


def test_the_read_only_admin_refuses_add_change_and_delete_even_to_a_superuser():
    model_admin = ReadOnlyModelAdmin(IdempotencyRecord, admin.AdminSite())
    request = _superuser_request()
    record = IdempotencyRecord(pk=1)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_change_permission(request, record)
    assert not model_admin.has_delete_permission(request)
    assert not model_admin.has_delete_permission(request, record)
    assert model_admin.has_view_permission(request, record)


@pytest.mark.parametrize("obj", [None, IdempotencyRecord(pk=1)])
def test_the_read_only_inline_shows_rows_and_nothing_else(obj):
    class Inline(ReadOnlyTabularInline):
        model = IdempotencyRecord

    inline = Inline(IdempotencyRecord, admin.AdminSite())
    request = _superuser_request()
    assert (inline.extra, inline.can_delete) == (0, False)
    assert not inline.has_add_permission(request, obj)
    assert not inline.has_change_permission(request, obj)
    assert not inline.has_delete_permission(request, obj)
    assert inline.has_view_permission(request, obj)
