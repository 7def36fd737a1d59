"""Sign-in by phone and code, enrolment of a proved phone, sign-out (member-web.md)."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from members.models import Member
from members.services import member_block
from notifications.models import Message
from portal.models import MemberSession, SignInCode
from portal.sessions import COOKIE_NAME
from portal.views.signin import ENROL_COOKIE
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.portal.conftest import last_code
from tests.portal.helpers import sign_in

pytestmark = pytest.mark.usefixtures("sign_in_templates")
STRANGER = "+84987654321"


def ask(client: Client, phone: str, **extra):
    return client.post("/m/", {"phone": phone, **extra})


def submit(client: Client, phone: str, code: str, **extra):
    return client.post("/m/", {"phone": phone, "code": code, **extra})


def page_shape(response, phone: str) -> str:
    """The page with the phone and the (per-request) CSRF tokens taken out."""
    text = response.content.decode().replace(phone, "PHONE")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)


def counts() -> tuple[int, int, int, int]:
    return (SignInCode.objects.count(), Message.objects.count(), MemberSession.objects.count(), Member.objects.count())


def test_the_signed_out_page_is_the_phone_form_and_stays_out_of_search_engines(client):
    response = client.get("/m/")
    assert response.status_code == 200
    assert b'name="phone"' in response.content
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Content-Security-Policy"]
    assert b'<html lang="vi">' in response.content


def test_a_member_gets_a_hashed_code_by_sms_and_signs_in_with_it(client, member):
    response = ask(client, "0912 345 678")
    assert response.status_code == 200
    assert b'autocomplete="one-time-code"' in response.content and b'inputmode="numeric"' in response.content
    code = last_code(member.phone)
    message = Message.objects.get(event="sign-in-code")
    assert (message.member_id, message.channel, message.status) == (member.pk, "sms", "pending")
    row = SignInCode.objects.get()
    assert row.member_id == member.pk and row.phone == member.phone
    assert all(code not in str(getattr(row, f.attname)) for f in SignInCode._meta.fields)
    assert row.expires_at - row.created_at == datetime.timedelta(minutes=5)

    response = submit(client, member.phone, code, next="/m/history/")
    assert response.status_code == 302 and response["Location"] == "/m/history/"
    assert MemberSession.objects.get().member_id == member.pk
    assert client.get("/m/").context["member"] == member


def test_members_who_consented_to_zalo_get_the_code_by_zalo_when_a_template_exists(client, member):
    from members.services import member_consent_set
    from notifications.models import MessageTemplate
    from notifications.services import template_save

    template_save(
        template=MessageTemplate(
            event="sign-in-code",
            channel="zalo",
            language="vi",
            body="Mã {one_time_code}",
            zalo_template_id="123",
            zalo_params={"otp": "{one_time_code}"},
        )
    )
    ask(client, member.phone)
    assert Message.objects.get(event="sign-in-code").channel == "sms"  # no Zalo consent
    member_consent_set(member=member, channel="zalo", given=True, source="staff")
    ask(client, member.phone)
    assert Message.objects.filter(event="sign-in-code").order_by("-pk").first().channel == "zalo"


def test_the_answer_is_the_same_whether_or_not_the_phone_is_a_member(client, member):
    as_member = ask(client, member.phone)
    as_stranger = ask(Client(), STRANGER)
    assert as_member.status_code == as_stranger.status_code == 200
    assert page_shape(as_member, member.phone) == page_shape(as_stranger, STRANGER)
    stranger_message = Message.objects.get(recipient=STRANGER)
    assert stranger_message.member_id is None and stranger_message.status == "pending"
    assert SignInCode.objects.get(phone=STRANGER).member_id is None


def test_a_wrong_phone_is_refused_and_nothing_is_written(client):
    before = counts()
    response = ask(client, "12345")
    assert response.status_code == 400
    assert counts() == before


def test_without_a_template_nothing_is_kept_or_sent(client, member):
    from notifications.models import MessageTemplate

    MessageTemplate.objects.all().delete()
    before = counts()
    response = ask(client, member.phone)
    assert response.status_code == 422
    assert counts() == before


def test_a_code_is_used_once(client, member):
    ask(client, member.phone)
    code = last_code(member.phone)
    assert submit(client, member.phone, code).status_code == 302
    other = Client()
    response = submit(other, member.phone, code)
    assert response.status_code == 400
    assert MemberSession.objects.count() == 1
    assert COOKIE_NAME not in response.cookies


def test_a_code_expires_after_five_minutes(client, member):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client, member.phone)
    code = last_code(member.phone)
    with time_machine.travel(start + datetime.timedelta(minutes=5, seconds=1), tick=False):
        response = submit(client, member.phone, code)
    assert response.status_code == 400
    assert MemberSession.objects.count() == 0


def test_five_wrong_tries_void_the_code(client, member):
    ask(client, member.phone)
    code = last_code(member.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _try in range(5):
        assert submit(client, member.phone, wrong).status_code == 400
    assert SignInCode.objects.get().wrong_tries == 5
    response = submit(client, member.phone, code)
    assert response.status_code == 400
    assert MemberSession.objects.count() == 0
    assert SignInCode.objects.get().used_at is None


def test_three_codes_per_ten_minutes_and_ten_a_day(client, member):
    start = timezone.now()
    for index in range(3):
        with time_machine.travel(start + datetime.timedelta(minutes=index), tick=False):
            assert ask(client, member.phone).status_code == 200
    before = counts()
    with time_machine.travel(start + datetime.timedelta(minutes=9), tick=False):
        refused = ask(client, member.phone)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert counts() == before
    # Every 10 minutes three more, until ten in 24 hours.
    sent = 3
    moment = start
    while sent < 10:
        moment += datetime.timedelta(minutes=13)
        for index in range(min(3, 10 - sent)):
            with time_machine.travel(moment + datetime.timedelta(seconds=index), tick=False):
                assert ask(client, member.phone).status_code == 200
            sent += 1
    before = counts()
    with time_machine.travel(moment + datetime.timedelta(minutes=30), tick=False):
        assert ask(client, member.phone).status_code == 429
    assert counts() == before
    with time_machine.travel(start + datetime.timedelta(hours=24, minutes=5), tick=False):
        assert ask(client, member.phone).status_code == 200


def test_one_address_cannot_ask_for_codes_for_many_phones(client, settings):
    from portal.services import signin

    for index in range(signin.IP_CODES_PER_HOUR):
        assert ask(client, f"+849100{index:05d}").status_code == 200
    before = counts()
    assert ask(client, "+84910099999").status_code == 429
    assert counts() == before


def test_a_blocked_member_is_not_signed_in(client, member):
    member_block(member=member, reason="gian lận")
    ask(client, member.phone)
    response = submit(client, member.phone, last_code(member.phone))
    assert response.status_code == 403
    assert MemberSession.objects.count() == 0


def test_an_unsafe_next_is_ignored(client, member):
    ask(client, member.phone)
    response = submit(client, member.phone, last_code(member.phone), next="https://evil.example/m/")
    assert response["Location"] == "/m/"


def test_sign_out_ends_the_session(client, member):
    sign_in(client, member)
    assert client.get("/m/card/").status_code == 200
    token = client.cookies[COOKIE_NAME].value
    response = client.post("/m/sign-out/")
    assert response.status_code == 302
    assert MemberSession.objects.get().ended_at is not None
    replay = Client()
    replay.cookies[COOKIE_NAME] = token
    assert replay.get("/m/card/").status_code == 302


# --- Enrolment -----------------------------------------------------------------------------------


def proved_stranger(client: Client):
    ask(client, STRANGER)
    response = submit(client, STRANGER, last_code(STRANGER))
    assert response.status_code == 302 and response["Location"].startswith("/m/enrol/")
    assert MemberSession.objects.count() == 0
    return response


def test_a_proved_phone_enrols_with_unticked_consents_and_is_signed_in(client, store):
    proved_stranger(client)
    form = client.get("/m/enrol/")
    assert form.status_code == 200
    for channel in ("sms", "email", "zalo", "push"):
        assert f'name="consent_{channel}"' in form.content.decode()
    assert b"checked" not in form.content
    referrer = MemberFactory()
    response = client.post(
        "/m/enrol/",
        {"name": "Lê Văn Hùng", "birthday": "1990-04-30", "referral_code": referrer.referral_code, "consent_sms": "on"},
    )
    assert response.status_code == 302 and response["Location"] == "/m/"
    member = Member.objects.get(phone=STRANGER)
    assert member.enrolment_channel == "web" and member.home_store is None
    assert member.referred_by_id == referrer.pk
    assert member.consent_sms_at is not None
    assert (member.consent_email_at, member.consent_zalo_at, member.consent_push_at) == (None, None, None)
    from members.models import ConsentChange

    assert list(member.consent_changes.values_list("channel", "given", "source")) == [
        ("sms", True, ConsentChange.Source.MEMBER_WEB)
    ]
    assert MemberSession.objects.get().member_id == member.pk
    assert client.get("/m/").status_code == 200


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Lê Văn Hùng", "referral_code": "NOPE1234"}, "referral_code"),
        ({"name": "Lê Văn Hùng", "birthday": "2999-01-01"}, "birthday"),
        ({"name": "Lê Văn Hùng", "birthday": "31/02/1990"}, "birthday"),
        ({"name": ""}, "name"),
    ],
)
def test_enrolment_refusals_show_the_form_again_and_write_nothing(client, data, field):
    proved_stranger(client)
    before = counts()
    response = client.post("/m/enrol/", data)
    assert response.status_code == 400
    assert response.context["form"].errors.get(field)
    assert counts() == before
    assert COOKIE_NAME not in response.cookies


def test_enrolment_needs_a_proved_phone(client):
    before = counts()
    response = client.post("/m/enrol/", {"name": "Kẻ mạo danh"})
    assert response.status_code == 302
    client.cookies[ENROL_COOKIE] = "forged:value"
    assert client.post("/m/enrol/", {"name": "Kẻ mạo danh"}).status_code == 302
    assert counts() == before


def test_a_tampered_enrolment_proof_is_refused(client):
    proved_stranger(client)
    value = client.cookies[ENROL_COOKIE].value
    client.cookies[ENROL_COOKIE] = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    before = counts()
    assert client.post("/m/enrol/", {"name": "Lê Văn Hùng"}).status_code == 302
    assert counts() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submits_of_one_code_at_once_sign_in_once(is_postgres, sign_in_templates):
    if not is_postgres:
        pytest.skip("real row locks: PostgreSQL")
    member = MemberFactory(phone="+84912000111")
    ask(Client(), member.phone)
    code = last_code(member.phone)

    def attempt(_index: int) -> int:
        return submit(Client(), member.phone, code).status_code

    results = run_in_threads(4, attempt)
    assert sorted(results) == [302, 400, 400, 400]
    assert MemberSession.objects.filter(member=member).count() == 1
