"""Unsubscribe links (member-web.md, RFC 8058): every marketing email and SMS carries the
member's one-click link; `/m/unsubscribe/<token>` withdraws that consent without signing in.
Tokens are single-purpose, expire, can't be altered, and one member's never touches another's."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.core.signing import dumps
from django.test import Client
from django.utils import timezone

from members.models import ConsentChange, Member
from notifications.services import message_enqueue, message_send
from notifications.unsubscribe import (
    TokenExpired,
    TokenInvalid,
    unsubscribe_token_make,
    unsubscribe_token_read,
    unsubscribe_url,
)
from tests.members.helpers import written_state
from tests.notifications.helpers import enrol, make_template

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/m/unsubscribe/(\S+)")


def path(token: str) -> str:
    return f"/m/unsubscribe/{token}"


def consent_state():
    return written_state(), list(ConsentChange.objects.values_list("pk", flat=True))


# --- Tokens -------------------------------------------------------------------------------------


def test_a_token_names_its_member_and_channel_and_is_short():
    token = unsubscribe_token_make(member_id=4321, channel="sms")
    named = unsubscribe_token_read(token)
    assert (named.member_id, named.channel) == (4321, "sms")
    assert len(token) <= 32  # an SMS is paid by its length
    assert "4321" not in token


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: "2" + t[1:],  # another member
        lambda t: t.replace("-s-", "-e-"),  # another channel
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the MAC
        lambda t: t.rsplit("-", 2)[0] + "-zz-" + t.rsplit("-", 1)[1],  # the day issued
        lambda t: t + "x",
        lambda t: "",
        lambda t: "../../admin",
    ],
)
def test_an_altered_token_is_refused(tamper):
    token = unsubscribe_token_make(member_id=1, channel="sms")
    with pytest.raises(TokenInvalid):
        unsubscribe_token_read(tamper(token))


def test_a_token_signed_for_another_purpose_is_refused():
    with pytest.raises(TokenInvalid):
        unsubscribe_token_read(dumps([1, "sms"]))


def test_a_token_expires_after_the_configured_days(settings):
    settings.UNSUBSCRIBE_LINK_DAYS = 30
    issued = timezone.now() - datetime.timedelta(days=31)
    token = unsubscribe_token_make(member_id=1, channel="email", at=issued)
    with pytest.raises(TokenExpired):
        unsubscribe_token_read(token)
    fresh = unsubscribe_token_make(member_id=1, channel="email", at=timezone.now() - datetime.timedelta(days=29))
    assert unsubscribe_token_read(fresh).member_id == 1


# --- Links in messages ----------------------------------------------------------------------------


def test_marketing_sms_and_email_carry_the_member_s_link_and_email_the_rfc_8058_headers(settings):
    settings.PORTAL_BASE_URL = "https://loyalty.example.vn"
    make_template(event="campaign", channel="sms", body="Ưu đãi cho {member_name}")
    make_template(event="campaign", channel="email", subject="Ưu đãi", body="Chào {member_name}")
    member = enrol(name="Mai", email="mai@example.vn")
    messages = {m.channel: m for m in message_enqueue(member=member, event="campaign", context={"campaign_name": "x"})}
    for channel, message in messages.items():
        [token] = LINK.findall(message.body)
        assert message.body.startswith(("Ưu đãi cho Mai\n", "Chào Mai\n"))
        assert "https://loyalty.example.vn/m/unsubscribe/" in message.body
        assert (unsubscribe_token_read(token).member_id, unsubscribe_token_read(token).channel) == (member.pk, channel)
    assert len(messages["sms"].body) < len("Ưu đãi cho Mai") + 80  # short for SMS

    assert message_send(message_id=messages["email"].pk).status == "sent"
    [email] = mail.outbox
    header = email.extra_headers["List-Unsubscribe"]
    assert header.startswith("<https://loyalty.example.vn/m/unsubscribe/") and header.endswith(">")
    assert unsubscribe_token_read(header.strip("<>").rsplit("/", 1)[1]).member_id == member.pk
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_template_showing_the_placeholder_gets_the_link_once():
    make_template(event="birthday", channel="sms", body="Chúc mừng sinh nhật! Từ chối: {unsubscribe_link}")
    member = enrol()
    [message] = message_enqueue(member=member, event="birthday", context={"voucher_code": "X"})
    assert len(LINK.findall(message.body)) == 1 and message.body.startswith("Chúc mừng sinh nhật! Từ chối: http")


def test_transactional_messages_carry_no_link_and_no_header():
    make_template(event="points-earned", channel="email", subject="Điểm", body="+{points_earned}")
    member = enrol()
    [message] = message_enqueue(member=member, event="points-earned", context={"points_earned": 5})
    assert message.body == "+5"
    message_send(message_id=message.pk)
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers


def test_the_placeholder_is_refused_in_templates_of_transactional_events():
    from loyalty_site.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        make_template(event="points-earned", channel="sms", body="Từ chối: {unsubscribe_link}")


# --- The page ---------------------------------------------------------------------------------------


@pytest.fixture
def member():
    return enrol(name="Lan", consents={"sms": True, "email": True})


def test_get_shows_the_channel_and_a_button_and_changes_nothing(client, member):
    before = consent_state()
    response = client.get(path(unsubscribe_token_make(member_id=member.pk, channel="sms")))
    assert response.status_code == 200
    page = response.content.decode()
    assert "SMS" in page and 'data-unsubscribe="confirm"' in page and 'method="post"' in page
    assert response["Cache-Control"] == "no-store"
    assert consent_state() == before


def test_the_button_withdraws_the_consent_records_it_and_twice_is_fine(member):
    client = Client(enforce_csrf_checks=True)
    url = path(unsubscribe_token_make(member_id=member.pk, channel="sms"))
    page = client.get(url).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(url, {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200 and 'data-unsubscribe="done"' in response.content.decode()
    member.refresh_from_db()
    assert member.consent_sms_at is None and member.consent_email_at is not None
    recorded = ConsentChange.objects.filter(member=member, source="unsubscribe-link")
    assert list(recorded.values_list("channel", "given", "by_id")) == [("sms", False, None)]
    again = client.post(url, {"csrfmiddlewaretoken": csrf})
    assert again.status_code == 200 and recorded.count() == 1


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(member):
    before = consent_state()
    response = Client(enforce_csrf_checks=True).post(path(unsubscribe_token_make(member_id=member.pk, channel="sms")))
    assert response.status_code == 403
    assert consent_state() == before


def test_the_rfc_8058_one_click_post_works_without_cookie_or_csrf_token(member):
    response = Client(enforce_csrf_checks=True).post(
        path(unsubscribe_token_make(member_id=member.pk, channel="email")), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.consent_email_at is None and member.consent_sms_at is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_and_expired_tokens_get_a_clear_page_and_nothing_is_written(method, member, settings):
    expired = unsubscribe_token_make(
        member_id=member.pk,
        channel="sms",
        at=timezone.now() - datetime.timedelta(days=settings.UNSUBSCRIBE_LINK_DAYS + 2),
    )
    tampered = unsubscribe_token_make(member_id=member.pk, channel="sms")[:-2] + "zz"
    unknown_member = unsubscribe_token_make(member_id=member.pk + 1000, channel="sms")
    before = consent_state()
    for token in (expired, tampered, unknown_member, "nonsense"):
        response = getattr(Client(), method)(path(token), {"List-Unsubscribe": "One-Click"} if method == "post" else {})
        assert response.status_code == 400, token
        assert 'data-unsubscribe="refused"' in response.content.decode()
    assert consent_state() == before


def test_one_member_s_token_never_touches_another_member_s_consent(member):
    other = enrol(name="Hùng", consents={"sms": True})
    Client().post(path(unsubscribe_token_make(member_id=member.pk, channel="sms")), {"List-Unsubscribe": "One-Click"})
    other.refresh_from_db()
    assert other.consent_sms_at is not None
    assert not ConsentChange.objects.filter(member=other, source="unsubscribe-link").exists()
    # Pointing a token at the other member (its id swapped in) is refused.
    token = unsubscribe_token_make(member_id=member.pk, channel="sms")
    forged = token.replace(
        token.split("-")[0], unsubscribe_token_make(member_id=other.pk, channel="sms").split("-")[0], 1
    )
    assert Client().post(path(forged), {"List-Unsubscribe": "One-Click"}).status_code == 400
    other.refresh_from_db()
    assert other.consent_sms_at is not None


def test_a_merged_member_s_link_unsubscribes_the_survivor(member):
    from members.services import member_merge

    survivor = enrol(name="Lan (mới)", consents={"sms": True})
    member_merge(survivor=survivor, merged=member)
    Client().post(path(unsubscribe_token_make(member_id=member.pk, channel="sms")), {"List-Unsubscribe": "One-Click"})
    assert Member.objects.get(pk=survivor.pk).consent_sms_at is None


def test_the_link_in_a_message_opens_the_page(member, settings):
    settings.PORTAL_BASE_URL = "http://testserver"
    url = unsubscribe_url(member_id=member.pk, channel="sms")
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
