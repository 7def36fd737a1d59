import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from loyalty_site.core.api_keys import api_key_matches
from stores.models import Terminal
from tests.factories import StoreFactory


@pytest.mark.django_db
def test_create_terminal_prints_the_key_alone_on_the_last_line_and_stores_only_its_hash():
    store = StoreFactory(code="PHO-HN01")
    out = StringIO()
    call_command("create_terminal", "pho-hn01", "Quầy 1", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{8}\.[A-Za-z0-9_-]{40,}", key)
    terminal = Terminal.objects.get(store=store, name="Quầy 1")
    assert terminal.key_hash != key and api_key_matches(key, terminal.key_hash)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_create_terminal_refuses_an_unknown_store_and_a_duplicate_name_writing_nothing():
    store = StoreFactory(code="CAFE-DN01")
    with pytest.raises(CommandError, match="NOPE"):
        call_command("create_terminal", "NOPE", "Quầy 1", stdout=StringIO())
    call_command("create_terminal", "CAFE-DN01", "Quầy 1", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_terminal", "CAFE-DN01", "Quầy 1", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_terminal", "CAFE-DN01", "   ", stdout=StringIO())
    assert Terminal.objects.filter(store=store).count() == 1


@pytest.mark.django_db
@pytest.mark.urls("tests.core.throwaway_urls")
def test_admin_creates_a_terminal_shows_its_key_once_and_revokes_it(client):
    admin_user = get_user_model().objects.create_superuser("boss", password="pw-for-tests-only")
    client.force_login(admin_user)
    store = StoreFactory()
    response = client.post("/admin/stores/terminal/add/", {"store": store.pk, "name": "Quầy 9"}, follow=True)
    assert response.status_code == 200
    terminal = Terminal.objects.get(name="Quầy 9")
    shown = [str(m) for m in response.context["messages"]]
    key = re.search(r"<code[^>]*>([^<]+)</code>", " ".join(shown)).group(1)
    assert api_key_matches(key, terminal.key_hash)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get("/api/pos/v1/_whoami").status_code == 200
    page = client.get(f"/admin/stores/terminal/{terminal.pk}/change/")
    assert key not in page.content.decode()  # never shown again

    response = client.post(
        "/admin/stores/terminal/", {"action": "revoke", "_selected_action": [terminal.pk]}, follow=True
    )
    terminal.refresh_from_db()
    assert terminal.revoked_at is not None and terminal.revoked_by == admin_user
    assert api.get("/api/pos/v1/_whoami").status_code == 403


@pytest.mark.django_db
def test_admin_refuses_a_duplicate_terminal_name_and_writes_nothing(client):
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-for-tests-only"))
    store = StoreFactory()
    client.post("/admin/stores/terminal/add/", {"store": store.pk, "name": "Quầy 1"})
    response = client.post("/admin/stores/terminal/add/", {"store": store.pk, "name": "Quầy 1"})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert Terminal.objects.count() == 1


@pytest.mark.django_db
def test_admin_refuses_a_bad_store_code_and_time_zone(client):
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-for-tests-only"))
    brand = StoreFactory().brand
    response = client.post(
        "/admin/stores/store/add/",
        {"code": "bad code", "name": "X", "brand": brand.pk, "time_zone": "Mars/Olympus", "is_active": "on"},
    )
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"code", "time_zone"}
    assert not type(brand).objects.get(pk=brand.pk).stores.filter(name="X").exists()


@pytest.mark.django_db
def test_admin_adds_an_online_shop_terminal_whose_kind_then_never_changes(client):
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-for-tests-only"))
    store = StoreFactory()
    client.post("/admin/stores/terminal/add/", {"store": store.pk, "name": "web", "kind": "online"})
    terminal = Terminal.objects.get(name="web")
    assert terminal.kind == Terminal.Kind.ONLINE
    client.post(f"/admin/stores/terminal/{terminal.pk}/change/", {"name": "web", "kind": "till"})
    terminal.refresh_from_db()
    assert terminal.kind == Terminal.Kind.ONLINE
