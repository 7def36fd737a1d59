"""The webhook admin (issue 17): refusals write nothing, the secret is shown once then masked,
"send test event" and "replay" go through the services, the delivery log is read-only."""

from __future__ import annotations

import pytest

from tests.webhooks.receiver import receiver_running
from webhooks.dispatch import active_cache_clear
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)
ADD = "/admin/webhooks/webhookendpoint/add/"
CHANGELIST = "/admin/webhooks/webhookendpoint/"


@pytest.fixture(autouse=True)
def _fresh_dispatch_cache():
    active_cache_clear()
    yield
    active_cache_clear()


def _form(**overrides):
    data = {"name": "CRM", "url": "https://93.184.216.34/hooks", "event_kinds": ["sale.recorded"], "is_active": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    "overrides",
    [
        {"url": "ftp://93.184.216.34/hooks"},
        {"url": "javascript:alert(1)"},
        {"url": "http://127.0.0.1:9000/hooks"},
        {"url": "http://169.254.169.254/latest"},
        {"name": "   "},
        {"event_kinds": ["points.stolen"]},
        {"event_kinds": ["webhook.test"]},
    ],
)
def test_refused_endpoints_write_nothing(admin_client, settings, overrides):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = admin_client.post(ADD, _form(**overrides))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


def test_the_secret_is_shown_once_then_masked(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = admin_client.post(ADD, _form(), follow=True)  # the browser follows to the list
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_kinds == ["sale.recorded"] and endpoint.secret.startswith("whsec_")
    shown = [str(m) for m in response.context["messages"]]
    assert sum(endpoint.secret in m for m in shown) == 1
    assert response.content.count(endpoint.secret.encode()) == 1
    page = admin_client.get(f"{CHANGELIST}{endpoint.pk}/change/")
    assert endpoint.secret.encode() not in page.content
    assert endpoint.secret_masked.encode() in page.content


def test_send_test_event_and_replay_from_the_admin(admin_client):
    with receiver_running() as receiver:
        response = admin_client.post(ADD, _form(url=receiver.url, event_kinds=[]))
        endpoint = WebhookEndpoint.objects.get()
        receiver.secret = endpoint.secret
        assert response.status_code == 302
        admin_client.post(CHANGELIST, {"action": "send_test_event", "_selected_action": [endpoint.pk]})
        assert receiver.kinds() == ["webhook.test"] and receiver.received[0].signature_ok
        delivery = WebhookDelivery.objects.get()
        admin_client.post("/admin/webhooks/webhookdelivery/", {"action": "replay", "_selected_action": [delivery.pk]})
        assert receiver.kinds() == ["webhook.test", "webhook.test"]
        assert WebhookDelivery.objects.filter(replay_of=delivery, status="succeeded").count() == 1
    log = admin_client.get("/admin/webhooks/webhookdelivery/")
    assert log.status_code == 200
    assert admin_client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").status_code == 200
    assert admin_client.get("/admin/webhooks/webhookdelivery/add/").status_code == 403
