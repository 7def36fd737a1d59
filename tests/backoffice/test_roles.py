"""The staff roles: what each group may and may not do, checked on permissions and in the admin."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from backoffice.roles import MARKETING, PROGRAMME_LEAD, READ_ONLY_MODELS, STORE_MANAGER
from tests.factories import StoreFactory

CONFIG_APPS = {"tiers", "vouchers", "campaigns", "notifications"}


def staff(role):
    user = get_user_model().objects.create_user(f"u-{role}", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


def models_of(*labels):
    return [m for m in apps.get_models() if m._meta.app_label in labels]


@pytest.mark.django_db
def test_roles_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {PROGRAMME_LEAD, MARKETING, STORE_MANAGER}


@pytest.mark.django_db
def test_marketing_configures_the_programme_and_only_reads_members_and_stores():
    user = staff(MARKETING)
    for model in models_of(*CONFIG_APPS):
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if label in READ_ONLY_MODELS or label in ("notifications.message", "notifications.zaloconnection"):
            assert not user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
            continue
        for action in ("add", "change", "delete", "view"):
            assert user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}"), (label, action)
    for model in models_of("members", "stores"):
        app, name = model._meta.app_label, model._meta.model_name
        for action in ("add", "change", "delete"):
            assert not user.has_perm(f"{app}.{action}_{name}"), (app, name, action)
    assert user.has_perm("stores.view_store")
    assert not user.has_perm("stores.view_terminal")
    assert not user.has_perm("members.adjust_points")


@pytest.mark.django_db
def test_store_manager_reads_the_configuration_and_cannot_change_it():
    user = staff(STORE_MANAGER)
    for model in models_of(*CONFIG_APPS, "stores"):
        app, name = model._meta.app_label, model._meta.model_name
        for action in ("add", "change", "delete"):
            assert not user.has_perm(f"{app}.{action}_{name}"), (app, name, action)
    assert user.has_perm("stores.view_store")
    assert not user.has_perm("stores.add_terminal")


@pytest.mark.django_db
def test_store_manager_works_with_members_when_they_exist():
    if not apps.is_installed("members") or not models_of("members"):
        pytest.skip("members arrive with issue 3")
    user = staff(STORE_MANAGER)
    for codename in ("view_member", "change_member", "import_members", "export_members", "adjust_points"):
        assert user.has_perm(f"members.{codename}"), codename
    assert not user.has_perm("members.delete_member")


@pytest.mark.django_db
def test_ledgers_are_read_only_for_every_role():
    for role in (PROGRAMME_LEAD, MARKETING, STORE_MANAGER):
        user = staff(role)
        for label in READ_ONLY_MODELS:
            app, name = label.split(".")
            for action in ("add", "change", "delete"):
                assert not user.has_perm(f"{app}.{action}_{name}")


@pytest.mark.django_db
@pytest.mark.parametrize("role", [MARKETING, STORE_MANAGER])
def test_in_the_admin_each_role_sees_stores_but_cannot_add_one_and_only_managers_see_terminals(client, role):
    StoreFactory(code="PHO-HN01")
    client.force_login(staff(role))
    assert client.get("/admin/stores/store/").status_code == 200
    assert client.get("/admin/stores/store/add/").status_code == 403
    # A store manager sees the terminals of their own stores (tests/backoffice/test_scoping.py).
    assert client.get("/admin/stores/terminal/").status_code == (200 if role == STORE_MANAGER else 403)
    assert client.get("/admin/stores/terminal/add/").status_code == 403
    response = client.post("/admin/stores/brand/add/", {"code": "NEW", "name": "New"})
    assert response.status_code == 403
    from stores.models import Brand

    assert not Brand.objects.filter(code="NEW").exists()


@pytest.mark.django_db
def test_marketing_uploads_excel_lists_into_groups(client):
    """Issue 16: Marketing imports the birthday list into a customer group (before: superuser only)."""
    user = staff(MARKETING)
    assert user.has_perm("members.import_members") and user.has_perm("campaigns.change_customergroup")
    assert not user.has_perm("members.export_members") and not user.has_perm("members.add_member")
    client.force_login(user)
    page = client.get("/admin/campaigns/memberimport/upload/")
    assert page.status_code == 200
    assert 'name="group"' in page.content.decode()  # the group to put the imported members in
