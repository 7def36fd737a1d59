"""The import / export plumbing of core: the formula escape and its inverse, headers accepted
in either language, and the export record (written by its service, read-only in the admin)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import translation

from loyalty_site.core.importexport.escape import neutralise, restore
from loyalty_site.core.importexport.services import export_record
from loyalty_site.core.models import ExportRecord
from tests.export_helpers import headers, import_preview, staff_client, xlsx_bytes
from tiers.models import Tier
from tiers.resources import TierResource


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=already quoted"])
def test_restore_gives_back_what_neutralise_was_given(text):
    assert restore(neutralise(text)) == text


@pytest.mark.parametrize("text", ["'quoted by the user", "'", "Nguyễn", "", 5, None])
def test_restore_leaves_other_values_alone(text):
    assert restore(text) == text


@pytest.mark.django_db
def test_a_file_with_english_headers_imports_in_the_vietnamese_console():
    client, _user = staff_client("tiers.view_tier", "tiers.add_tier", "tiers.change_tier", "tiers.import_tier")
    head = headers(TierResource, "en")
    assert head["threshold"] != headers(TierResource, "vi")["threshold"]
    content = xlsx_bytes([[head["code"], head["rank"], head["name"], head["threshold"], "earn_rate_percent"],
                          ["MEMBER", 10, "Thành viên", 0, 5]])  # fmt: skip

    preview = import_preview(client, "tiers.tier", content)

    assert "confirm_form" in preview.context
    assert not Tier.objects.exists()  # a preview


@pytest.mark.django_db
def test_the_export_record_keeps_the_user_name_and_is_read_only_in_the_admin(django_user_model):
    user = django_user_model.objects.create_user("lan", is_staff=True, is_superuser=True)
    from tiers.models import Tier as model

    record = export_record(user=user, model=model, file_format="xlsx", rows=3, filters="q=" + "x" * 2000)

    assert (record.username, record.model, record.rows, len(record.filters)) == ("lan", "tiers.tier", 3, 1000)
    request = RequestFactory().get("/")
    request.user = user
    model_admin = admin.site._registry[ExportRecord]
    assert model_admin.has_view_permission(request, record)
    assert not any(
        check(request, record) if check.__name__ != "has_add_permission" else check(request)
        for check in (model_admin.has_add_permission, model_admin.has_change_permission,
                      model_admin.has_delete_permission)
    )  # fmt: skip
    with translation.override("vi"):
        assert str(ExportRecord._meta.verbose_name) != "export record"
