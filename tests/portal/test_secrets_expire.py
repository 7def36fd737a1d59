"""Issue 14's second and third proofs, the parts no other test made: member sessions are stored as a hash
and end after 30 days; an exchange confirmation older than a day, or rebuilt from what the
database keeps, pays nothing; an enrolment proof older than 30 minutes enrols nobody.

Already proved elsewhere: sign-in codes hashed and valid 5 minutes (test_signin.py,
tests/members/test_presence.py); card tokens valid 120 s and not makeable from the database
(test_card.py, tests/members/test_presence.py); unsubscribe tokens expiring and stored nowhere
(tests/notifications/test_unsubscribe.py); claim links closing after the days to claim and
stored nowhere (tests/campaigns/test_claims.py). The rate limits one request at a time are
test_signin.py's; here they hold when requests race (PostgreSQL)."""

from __future__ import annotations

import datetime
import hashlib

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from members.models import Member
from notifications.models import Message
from portal.models import MemberSession, SignInCode
from portal.rewards import EXCHANGE_FORM_MAX_AGE
from portal.services.signin import ENROL_PROOF_SECONDS
from portal.sessions import COOKIE_NAME
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.portal.conftest import last_code
from tests.portal.helpers import sign_in
from tests.portal.test_rewards import confirm_form, exchange
from tests.portal.test_signin import STRANGER, ask, counts, submit
from tests.vouchers.helpers import written_state
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def test_a_session_is_stored_as_the_hash_of_its_cookie_and_ends_after_30_days(client, member, sign_in_templates):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client, member.phone)
        assert submit(client, member.phone, last_code(member.phone)).status_code == 302
    cookie = client.cookies[COOKIE_NAME].value
    session = MemberSession.objects.get()
    assert session.token_hash == hashlib.sha256(cookie.encode()).hexdigest()
    stored = [
        str(value)
        for value in MemberSession.objects.values_list(*[f.attname for f in MemberSession._meta.fields]).get()
    ]
    assert not any(cookie in value for value in stored)
    assert session.expires_at - session.created_at == datetime.timedelta(days=30)
    with time_machine.travel(start + datetime.timedelta(days=29, hours=23), tick=False):
        assert client.get("/m/history/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(days=30, seconds=1), tick=False):
        assert client.get("/m/history/").status_code == 302
    # The hash itself, as read from the database, is no cookie.
    thief = Client()
    thief.cookies[COOKIE_NAME] = session.token_hash
    assert thief.get("/m/history/").status_code == 302


def test_an_exchange_confirmation_older_than_a_day_pays_nothing(client, member, catalogue):
    sign_in(client, member)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        reference = confirm_form(client, "PHO100")
    before = written_state()
    with time_machine.travel(start + datetime.timedelta(seconds=EXCHANGE_FORM_MAX_AGE + 1), tick=False):
        response = exchange(client, "PHO100", reference)
    assert response.status_code == 400
    assert b"data-confirm" in response.content  # a fresh form to confirm again
    assert written_state() == before


def test_what_the_database_keeps_of_an_exchange_cannot_replay_it_or_make_another(client, member, catalogue):
    sign_in(client, member)
    assert exchange(client, "PHO100", confirm_form(client, "PHO100")).status_code == 200
    kept = Voucher.objects.get(member=member).reference
    assert kept.startswith(f"web:{member.pk}:")
    before = written_state()
    for forged in (kept, kept.removeprefix(f"web:{member.pk}:")):
        response = exchange(client, "PHO100", forged)
        assert response.status_code == 400
    assert written_state() == before


def test_an_enrolment_proof_older_than_30_minutes_enrols_nobody(client, store, sign_in_templates):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client, STRANGER)
        assert submit(client, STRANGER, last_code(STRANGER)).status_code == 302
    before = counts()
    with time_machine.travel(start + datetime.timedelta(seconds=ENROL_PROOF_SECONDS + 1), tick=False):
        response = client.post("/m/enrol/", {"name": "Lê Văn Hùng"})
    assert response.status_code == 302 and response["Location"].startswith("/m/")
    assert counts() == before
    assert not Member.objects.filter(phone=STRANGER).exists()
    with time_machine.travel(start + datetime.timedelta(seconds=ENROL_PROOF_SECONDS - 60), tick=False):
        assert client.post("/m/enrol/", {"name": "Lê Văn Hùng"}).status_code == 302
    assert Member.objects.filter(phone=STRANGER).exists()  # within the 30 minutes it works


# --- Issue 14's third proof under concurrency: the per-phone limits hold when requests race ------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_six_code_requests_at_once_send_three_codes(is_postgres, sign_in_templates):
    if not is_postgres:
        pytest.skip("the advisory lock on the phone: PostgreSQL")
    member = MemberFactory(phone="+84912000222")
    statuses = run_in_threads(6, lambda index: ask(Client(REMOTE_ADDR=f"10.0.0.{index + 1}"), member.phone).status_code)
    assert sorted(statuses) == [200, 200, 200, 429, 429, 429]
    assert SignInCode.objects.filter(phone=member.phone).count() == 3
    assert Message.objects.filter(event="sign-in-code", recipient=member.phone).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_wrong_tries_at_once_still_void_the_code(is_postgres, sign_in_templates):
    if not is_postgres:
        pytest.skip("concurrent guarded updates: PostgreSQL")
    member = MemberFactory(phone="+84912000333")
    ask(Client(), member.phone)
    code = last_code(member.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = run_in_threads(8, lambda _index: submit(Client(), member.phone, wrong).status_code)
    assert statuses == [400] * 8
    assert SignInCode.objects.get(phone=member.phone).wrong_tries >= 5
    assert submit(Client(), member.phone, code).status_code == 400  # voided: the right code is refused
    assert not MemberSession.objects.filter(member=member).exists()
