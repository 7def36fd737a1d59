"""Terminal authentication, problem+json, idempotency and throttling, on a throwaway endpoint."""

import json

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from loyalty_site.core.api.throttling import TerminalRateThrottle
from loyalty_site.core.models import IdempotencyRecord
from stores.models import Terminal
from stores.services import terminal_create, terminal_revoke
from tests.conftest import run_in_threads
from tests.factories import StoreFactory

pytestmark = [pytest.mark.urls("tests.core.throwaway_urls")]
URL = "/api/pos/v1/_throwaway"
WHOAMI = "/api/pos/v1/_whoami"


def post(client, body, key="key-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers, **extra)


def problem(response):
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == response.status_code
    return body


# --- Authentication ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_valid_key_authenticates_the_terminal_and_records_its_last_use(pos_client, terminal):
    assert terminal.last_used_at is None
    response = pos_client.get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == {"terminal": "Quầy 1", "store": terminal.store.code}
    terminal.refresh_from_db()
    assert terminal.last_used_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [None, "Api-Key", "Api-Key nonsense", "Api-Key abcdefgh.wrong-secret", "Bearer whatever", "Api-Key a b"],
)
def test_missing_or_bad_key_is_401(store, header):
    terminal_create(store=store, name="T")
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert problem(response)["type"].endswith("/not-authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.django_db
def test_right_prefix_with_wrong_secret_is_401(terminal_and_key):
    terminal, _key = terminal_and_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {terminal.key_prefix}.{'x' * 43}")
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_revoked_key_stops_working_at_once(pos_client, terminal):
    assert pos_client.get(WHOAMI).status_code == 200
    terminal_revoke(terminal=terminal)
    response = pos_client.get(WHOAMI)
    assert response.status_code == 403
    assert problem(response)["type"].endswith("/permission-denied")


@pytest.mark.django_db
def test_inactive_store_is_403(pos_client, terminal):
    terminal.store.is_active = False
    terminal.store.save()
    response = pos_client.get(WHOAMI)
    assert response.status_code == 403
    assert problem(response)["type"].endswith("/permission-denied")


# --- problem+json and languages ---------------------------------------------------------------


@pytest.mark.django_db
def test_errors_speak_vietnamese_by_default_and_english_on_request(store):
    client = APIClient()
    vi = problem(client.get(WHOAMI))
    en = problem(client.get(WHOAMI, HTTP_ACCEPT_LANGUAGE="en"))
    assert en["title"] == "Authentication credentials were not provided."
    assert vi["title"] != en["title"]
    assert "xác thực" in vi["title"].lower()


@pytest.mark.django_db
def test_validation_errors_list_each_field_and_write_nothing(pos_client):
    groups = Group.objects.count()
    response = post(pos_client, {"name": "", "hold_seconds": 99}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = problem(response)
    assert body["type"].endswith("/validation-error")
    assert set(body["errors"]) == {"name", "hold_seconds"}
    assert Group.objects.count() == groups


@pytest.mark.django_db
def test_malformed_json_is_a_validation_error(pos_client):
    response = pos_client.post(URL, data="{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 400
    assert problem(response)["type"].endswith("/validation-error")
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_unknown_api_url_is_a_problem_404(pos_client):
    response = pos_client.get("/api/pos/v1/no-such-thing")
    assert response.status_code == 404
    assert problem(response)["type"].endswith("/not-found")


@pytest.mark.django_db
def test_a_bug_is_a_500_problem_without_internals(pos_client):
    response = post(pos_client, {"name": "boom", "crash": True})
    assert response.status_code == 500
    body = problem(response)
    assert "simulated" not in json.dumps(body) and "Traceback" not in json.dumps(body)


# --- Idempotency ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, "", "x" * 256, "tab\there", "é-not-ascii"])
def test_state_changing_request_needs_a_valid_key_and_writes_nothing_without(pos_client, key):
    response = post(pos_client, {"name": "A"}, key=key)
    assert response.status_code == 400
    assert problem(response)["type"].endswith("/idempotency-key-required")
    assert not Group.objects.filter(name="A").exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_replay_returns_the_same_bytes_and_status_and_changes_nothing(pos_client):
    first = post(pos_client, {"name": "A"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post(pos_client, {"name": "A"})
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Group.objects.filter(name="A").count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_key_order_and_whitespace_do_not_make_another_body(pos_client):
    first = pos_client.post(
        URL, data='{"name": "A", "hold_seconds": 0}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    again = pos_client.post(
        URL, data='{"hold_seconds":0,"name":"A"}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_same_key_with_another_body_is_422_and_changes_nothing(pos_client):
    post(pos_client, {"name": "A"})
    response = post(pos_client, {"name": "B"})
    assert response.status_code == 422
    assert problem(response)["type"].endswith("/idempotency-key-reused")
    assert not Group.objects.filter(name="B").exists()
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_to_the_terminal(pos_client, store):
    _, other_key = terminal_create(store=store, name="Quầy 2")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    assert post(pos_client, {"name": "A"}, key="same").status_code == 201
    assert post(other, {"name": "B"}, key="same").status_code == 201
    assert Group.objects.filter(name__in=["A", "B"]).count() == 2


@pytest.mark.django_db
def test_a_refusal_is_stored_and_replayed_but_its_writes_are_undone(pos_client):
    first = post(pos_client, {"name": "R", "refuse_after_write": True})
    assert first.status_code == 409
    assert not Group.objects.filter(name="R").exists()  # the write before the refusal was undone
    again = post(pos_client, {"name": "R", "refuse_after_write": True})
    assert again.status_code == 409 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_crash_keeps_no_record_so_a_retry_runs_afresh(pos_client):
    assert post(pos_client, {"name": "C", "crash": True}).status_code == 500
    assert not Group.objects.filter(name="C").exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_key_in_parallel_takes_effect_once():
    store = StoreFactory()
    _, key = terminal_create(store=store, name="T")

    def call(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        response = post(client, {"name": "P", "hold_seconds": 0.3}, key="parallel")
        return response.status_code, response.content

    results = run_in_threads(6, call)
    assert all(isinstance(r, tuple) for r in results), results
    statuses = sorted(status for status, _ in results)
    assert set(statuses) <= {201, 409}
    winners = [content for status, content in results if status == 201]
    assert winners and all(content == winners[0] for content in winners)  # replays are identical
    assert Group.objects.filter(name="P").count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_get_needs_no_idempotency_key(pos_client):
    assert pos_client.get(WHOAMI).status_code == 200


# --- Throttling -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_terminal_is_throttled_on_its_own(pos_client, store, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr(TerminalRateThrottle, "rate", "3/min", raising=False)
    for _ in range(3):
        assert pos_client.get(WHOAMI).status_code == 200
    response = pos_client.get(WHOAMI)
    assert response.status_code == 429
    assert problem(response)["type"].endswith("/throttled")
    assert int(response["Retry-After"]) >= 1
    _, other_key = terminal_create(store=store, name="Quầy 2")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    assert other.get(WHOAMI).status_code == 200


@pytest.mark.django_db
def test_purge_deletes_only_expired_records(pos_client):
    from datetime import timedelta

    from django.utils import timezone

    from loyalty_site.core.api.idempotency import idempotency_records_purge

    post(pos_client, {"name": "old"}, key="old")
    post(pos_client, {"name": "new"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=100))
    assert idempotency_records_purge(older_than_hours=72) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_terminal_model_keeps_no_plain_key(terminal_and_key):
    terminal, key = terminal_and_key
    stored = Terminal.objects.filter(pk=terminal.pk).values().get()
    assert key not in json.dumps(stored, default=str)
