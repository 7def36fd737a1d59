"""Zalo OA access tokens renewed before they expire (issue 16 item 7), against a local HTTP
receiver standing for oauth.zaloapp.com: the refresh-token request, the rotation of the refresh
token, storage that never shows the tokens, the schedule, the Zalo backend using the current
token, and the admin's banner when renewal fails."""

import datetime
from urllib.parse import parse_qs

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings
from django.utils import timezone

from backoffice.roles import MARKETING, PROGRAMME_LEAD
from notifications.channels.zalo import ZaloZnsBackend
from notifications.models import ZaloConnection
from notifications.selectors import zalo_access_token, zalo_renewal_alert
from notifications.services import zalo_token_renew, zalo_tokens_set
from notifications.tasks import renew_zalo_token
from notifications.zalo_tokens import token_decrypt
from tests.notifications.test_channels import ZNS

pytestmark = pytest.mark.django_db


@pytest.fixture
def zalo_oauth(gateway):
    with override_settings(
        NOTIFICATIONS_ZALO_APP_ID="app-42",
        NOTIFICATIONS_ZALO_SECRET_KEY="app-secret",
        NOTIFICATIONS_ZALO_OAUTH_URL=f"{gateway.url}/v4/oa/access_token",
        NOTIFICATIONS_ZALO_RENEW_AHEAD_SECONDS=3 * 3600,
    ):
        yield gateway


def granted(n: int, expires_in="90000"):
    return {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": expires_in}


def form(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body["_raw"]).items()}


def stored() -> ZaloConnection:
    return ZaloConnection.objects.get()


def test_the_first_renewal_posts_the_refresh_token_flow_and_stores_the_rotated_pair(zalo_oauth):
    zalo_tokens_set(refresh_token="refresh-0")
    zalo_oauth.reply(200, granted(1))
    before = timezone.now()
    result = zalo_token_renew()
    assert result.renewed and not result.error
    [request] = zalo_oauth.requests
    assert request.path == "/v4/oa/access_token"
    assert request.headers["secret_key"] == "app-secret"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {"app_id": "app-42", "refresh_token": "refresh-0", "grant_type": "refresh_token"}
    connection = stored()
    assert zalo_access_token() == "access-1"
    assert token_decrypt(connection.refresh_token_encrypted) == "refresh-1"  # rotated
    assert "access-1" not in connection.access_token_encrypted  # encrypted at rest
    assert "refresh-1" not in connection.refresh_token_encrypted
    assert before + datetime.timedelta(seconds=89_990) < connection.access_expires_at
    assert connection.access_expires_at < timezone.now() + datetime.timedelta(seconds=90_010)


def test_a_fresh_token_is_left_alone_and_one_close_to_expiry_is_renewed_with_the_latest_refresh_token(zalo_oauth):
    zalo_tokens_set(refresh_token="refresh-0")
    zalo_oauth.reply(200, granted(1))
    zalo_token_renew()
    assert not zalo_token_renew().renewed  # 25 hours left: nothing to do
    assert len(zalo_oauth.requests) == 1

    ZaloConnection.objects.update(access_expires_at=timezone.now() + datetime.timedelta(hours=2))
    zalo_oauth.reply(200, granted(2))
    assert renew_zalo_token() == {"renewed": True, "error": ""}  # the scheduled task
    assert form(zalo_oauth.requests[-1])["refresh_token"] == "refresh-1"
    assert zalo_access_token() == "access-2"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"error": -14014, "error_name": "Invalid refresh token", "error_description": "expired"}, "-14014"),
        (500, {"message": "down"}, "HTTP 500"),
        (200, {"access_token": "a", "refresh_token": "r", "expires_in": "soon"}, "expires_in"),
    ],
)
def test_a_failed_renewal_keeps_the_tokens_records_the_error_and_raises_the_banner(zalo_oauth, status, body, expected):
    zalo_tokens_set(refresh_token="refresh-0", access_token="access-0", expires_in=3600)
    before = ZaloConnection.objects.values().get()
    zalo_oauth.reply(status, body)
    result = zalo_token_renew()
    assert not result.renewed and expected in result.error
    connection = stored()
    assert connection.access_token_encrypted == before["access_token_encrypted"]  # nothing lost
    assert connection.refresh_token_encrypted == before["refresh_token_encrypted"]
    assert connection.access_expires_at == before["access_expires_at"]
    assert connection.failures == 1 and connection.is_failing and expected in connection.last_error
    assert zalo_access_token() == "access-0"
    assert expected in zalo_renewal_alert()

    zalo_oauth.reply(200, granted(1))
    assert zalo_token_renew().renewed
    assert stored().failures == 0 and zalo_renewal_alert() == ""


def test_an_unreachable_oauth_server_or_missing_app_settings_are_failures_not_crashes(gateway):
    zalo_tokens_set(refresh_token="refresh-0")
    with override_settings(NOTIFICATIONS_ZALO_APP_ID="", NOTIFICATIONS_ZALO_SECRET_KEY=""):
        assert "NOTIFICATIONS_ZALO_APP_ID" in zalo_token_renew().error
    with override_settings(
        NOTIFICATIONS_ZALO_APP_ID="a",
        NOTIFICATIONS_ZALO_SECRET_KEY="s",
        NOTIFICATIONS_ZALO_OAUTH_URL="http://127.0.0.1:9/x",
    ):
        assert "connection failed" in zalo_token_renew().error
    assert stored().failures == 2 and not gateway.requests


def test_nothing_happens_without_a_refresh_token(zalo_oauth):
    assert zalo_token_renew() == zalo_token_renew(force=True)
    assert not zalo_token_renew().renewed and not zalo_oauth.requests
    assert not ZaloConnection.objects.exists() and zalo_renewal_alert() == ""


def test_tokens_stored_under_another_key_cannot_be_read_and_the_renewal_says_so(zalo_oauth):
    zalo_tokens_set(refresh_token="refresh-0", access_token="access-0", expires_in=60)
    with override_settings(NOTIFICATIONS_ZALO_TOKEN_KEY="another key"):
        assert zalo_access_token() == ""
        assert "decrypted" in zalo_token_renew().error
    assert not zalo_oauth.requests


def test_the_zalo_backend_sends_with_the_current_renewed_token(zalo_oauth):
    zalo_tokens_set(refresh_token="refresh-0")
    zalo_oauth.reply(200, granted(7))
    zalo_token_renew()
    backend = ZaloZnsBackend(channel="zalo", url=f"{zalo_oauth.url}/zns", timeout=0.5)
    zalo_oauth.reply(200, {"error": 0, "message": "Success", "data": {"msg_id": "m-1"}})
    assert backend.send(ZNS).provider_message_id == "m-1"
    assert zalo_oauth.requests[-1].headers["access_token"] == "access-7"

    ZaloConnection.objects.update(access_expires_at=timezone.now())
    zalo_oauth.reply(200, granted(8))
    zalo_token_renew()
    zalo_oauth.reply(200, {"error": 0, "message": "Success", "data": {"msg_id": "m-2"}})
    backend.send(ZNS)
    assert zalo_oauth.requests[-1].headers["access_token"] == "access-8"


def test_the_zalo_backend_without_any_token_retries_later():
    from notifications.channels import TransientSendError

    with pytest.raises(TransientSendError):
        ZaloZnsBackend(channel="zalo", url="http://127.0.0.1:9/zns").send(ZNS)


def test_the_renewal_is_scheduled():
    from notifications.schedules import SCHEDULES

    [schedule] = [s for s in SCHEDULES if s.task == "notifications.renew_zalo_token"]
    assert schedule.minute == "*/10"


def staff(username, role):
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_the_lead_enters_a_refresh_token_in_the_admin_and_never_sees_a_token_again(client, zalo_oauth):
    client.force_login(staff("lead", PROGRAMME_LEAD))
    zalo_oauth.reply(200, granted(1))
    response = client.post("/admin/notifications/zaloconnection/add/", {"refresh_token": "refresh-0"})
    assert response.status_code == 302, response.content
    assert zalo_access_token() == "access-1" and stored().updated_by.username == "lead"
    page = client.get(f"/admin/notifications/zaloconnection/{ZaloConnection.SINGLETON_PK}/change/").content.decode()
    listing = client.get("/admin/notifications/zaloconnection/").content.decode()
    for text in (page, listing):
        assert "access-1" not in text and "refresh-1" not in text and "refresh-0" not in text
        assert stored().access_token_encrypted not in text


def test_the_banner_shows_to_leads_and_superusers_only_while_renewal_fails(client, zalo_oauth):
    zalo_tokens_set(refresh_token="refresh-0")
    zalo_oauth.reply(200, {"error": -14014, "error_description": "Invalid refresh token"})
    zalo_token_renew()
    lead = staff("lead", PROGRAMME_LEAD)
    marketing = staff("marketing", MARKETING)
    boss = get_user_model().objects.create_superuser("boss", password="pw-for-tests-only")
    for user, shown in ((lead, True), (boss, True), (marketing, False)):
        client.force_login(user)
        page = client.get("/admin/").content.decode()
        assert ('id="zalo-token-alert"' in page) is shown, user
        assert ("Invalid refresh token" in page) is shown
    zalo_oauth.reply(200, granted(1))
    zalo_token_renew()
    client.force_login(lead)
    assert 'id="zalo-token-alert"' not in client.get("/admin/").content.decode()


def test_marketing_cannot_open_or_change_the_zalo_connection(client):
    client.force_login(staff("marketing", MARKETING))
    assert client.get("/admin/notifications/zaloconnection/").status_code == 403
    assert client.post("/admin/notifications/zaloconnection/add/", {"refresh_token": "x"}).status_code == 403
    assert not ZaloConnection.objects.exists()
