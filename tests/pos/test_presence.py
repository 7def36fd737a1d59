"""Proof that the member is present (pos-api.md 1.1) end to end against the demo programme, whose
free limit is 100 points: the card token, the one-time code, the quote's flag, and every refusal
changing nothing (but the wrong-try counter of a code, which must survive the refusal)."""

import datetime
import re

import pytest
from django.utils import timezone

from members.demo import DEMO_SETTINGS
from members.models import PresenceCode, PresenceTokenUse, ProgrammeSettings
from members.presence import TOKEN_STEP_SECONDS
from members.services import member_token_issue, presence_code_issue, programme_settings_update
from notifications.models import Message
from tests.factories import MemberFactory
from tests.pos.conftest import post, problem
from tests.pos.test_sales_api import pho_lines, sale_body, state
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db
QUOTE = "/api/pos/v1/sales/quote"
SALES = "/api/pos/v1/sales"


@pytest.fixture
def demo_presence(demo_programme):
    """The demo's own setting (the shared fixture switches it off for the older tests)."""
    programme_settings_update(data={"presence_proof": DEMO_SETTINGS["presence_proof"], "presence_free_points": 100})


@pytest.fixture
def member(demo_presence):
    return MemberFactory(points=1000)


def pay(member, points, receipt="P-1", **proof):
    return sale_body(receipt, pho_lines(500_000), member, points_to_redeem=points, **proof)


def otp_sent(client, member, key="otp-1"):
    response = post(client, f"/api/pos/v1/members/{member.pk}/otp", {}, key=key)
    assert response.status_code == 201, response.content
    message = Message.objects.filter(member=member, event="presence-code").latest("pk")
    return response, re.search(r"\b(\d{6})\b", message.body).group(1)


def presence_state():
    return {
        **state(),
        "codes": list(PresenceCode.objects.order_by("pk").values_list("pk", "wrong_tries", "used_at")),
        "token_uses": PresenceTokenUse.objects.count(),
    }


# --- The setting ------------------------------------------------------------------------------


def test_the_demo_programme_asks_for_proof_above_100_points():
    assert DEMO_SETTINGS["presence_proof"] == ProgrammeSettings.PresenceProof.ABOVE
    assert DEMO_SETTINGS["presence_free_points"] == 100


@pytest.mark.parametrize(
    ("policy", "points", "required"),
    [("never", 500, False), ("above", 100, False), ("above", 101, True), ("always", 10, True), ("always", 0, False)],
)
def test_the_quote_tells_whether_proof_is_needed_and_never_needs_it(pho, member, policy, points, required):
    programme_settings_update(data={"presence_proof": policy})
    response = post(pho, QUOTE, pay(member, points))
    assert response.status_code == 200, response.content
    assert response.json()["member_proof_required"] is required


# --- Refusals change nothing ------------------------------------------------------------------


def test_points_above_the_limit_without_proof_are_refused_and_nothing_is_written(pho, member):
    before = presence_state()
    response = post(pho, SALES, pay(member, 101), key="k1")
    assert response.status_code == 403
    problem(response, "member-proof-required")
    assert presence_state() == before


def test_points_up_to_the_limit_need_no_proof(pho, member):
    response = post(pho, SALES, pay(member, 100), key="k1")
    assert response.status_code == 201, response.content
    assert response.json()["points_redeemed"] == 100


def test_a_wrong_otp_is_refused_changes_nothing_but_counts_the_try(pho, member):
    _, code = otp_sent(pho, member)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    before = presence_state()
    response = post(pho, SALES, pay(member, 200, otp=wrong), key="k1")
    assert response.status_code == 403
    problem(response, "member-proof-invalid")
    after = presence_state()
    assert after.pop("codes") == [(pk, 1, None) for pk, _, _ in before.pop("codes")]
    assert after == before


def test_five_wrong_tries_void_the_code(pho, member):
    _, code = otp_sent(pho, member)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for i in range(5):
        assert post(pho, SALES, pay(member, 200, f"W-{i}", otp=wrong), key=f"w{i}").status_code == 403
    before = presence_state()
    response = post(pho, SALES, pay(member, 200, "OK", otp=code), key="ok")
    problem(response, "member-proof-invalid")
    assert presence_state() == before
    assert PresenceCode.objects.get().wrong_tries == 5


def test_the_right_otp_pays_once(pho, member):
    _, code = otp_sent(pho, member)
    response = post(pho, SALES, pay(member, 200, otp=code), key="k1")
    assert response.status_code == 201, response.content
    assert response.json()["points_redeemed"] == 200
    used = PresenceCode.objects.get()
    assert used.used_at is not None and used.cause_reference == f"sale:{response.json()['id']}"
    before = presence_state()
    again = post(pho, SALES, pay(member, 200, "P-2", otp=code), key="k2")
    problem(again, "member-proof-invalid")
    assert presence_state() == before


def test_an_expired_otp_is_refused(pho, member):
    _row, code = presence_code_issue(member=member, at=timezone.now() - datetime.timedelta(minutes=5, seconds=1))
    before = presence_state()
    problem(post(pho, SALES, pay(member, 200, otp=code), key="k1"), "member-proof-invalid")
    assert presence_state() == before


def test_the_code_is_stored_hashed(pho, member):
    _, code = otp_sent(pho, member)
    row = PresenceCode.objects.get()
    assert code not in row.code_hash and code not in row.salt


def test_the_token_pays_once_and_finds_the_member(pho, member):
    token = member_token_issue(member=member).token
    found = pho.get("/api/pos/v1/members/lookup", {"q": token})
    assert found.status_code == 200 and found.json()["id"] == member.pk
    response = post(pho, SALES, pay(member, 300, member_token=token), key="k1")
    assert response.status_code == 201, response.content
    before = presence_state()
    reused = post(pho, SALES, pay(member, 300, "P-2", member_token=token), key="k2")
    problem(reused, "member-proof-invalid")
    assert presence_state() == before


def test_an_expired_token_is_refused_and_finds_nobody(pho, member):
    old = member_token_issue(member=member, at=timezone.now() - datetime.timedelta(seconds=2 * TOKEN_STEP_SECONDS))
    assert pho.get("/api/pos/v1/members/lookup", {"q": old.token}).status_code == 404
    before = presence_state()
    problem(post(pho, SALES, pay(member, 300, member_token=old.token), key="k1"), "member-proof-invalid")
    assert presence_state() == before


def test_another_members_token_or_a_forged_one_is_refused(pho, member):
    other = MemberFactory(points=10)
    token = member_token_issue(member=other).token
    forged = member_token_issue(member=member).token[:-1] + "A"
    forged = forged if forged != member_token_issue(member=member).token else forged[:-1] + "B"
    before = presence_state()
    for i, bad in enumerate([token, forged, "MT" + "A" * 28]):
        problem(post(pho, SALES, pay(member, 300, f"F-{i}", member_token=bad), key=f"f{i}"), "member-proof-invalid")
    assert presence_state() == before


def test_a_refused_sale_leaves_the_token_unused(pho, member):
    token = member_token_issue(member=member).token
    first = post(pho, SALES, pay(member, 300, member_token=token), key="k1")
    assert first.status_code == 201
    token2 = member_token_issue(member=member, at=timezone.now() + datetime.timedelta(seconds=TOKEN_STEP_SECONDS))
    # The same receipt again: refused after the proof was checked, so the token is not used up.
    problem(post(pho, SALES, pay(member, 300, member_token=token2.token), key="k2"), "duplicate-receipt")
    assert PresenceTokenUse.objects.count() == 1


# --- The one-time code endpoint ---------------------------------------------------------------


def test_the_otp_goes_by_sms_now_even_in_the_quiet_hours(pho, member, settings):
    # Quiet all day: a message that waited for the end of them would be useless.
    settings.NOTIFICATIONS_QUIET_HOURS_START, settings.NOTIFICATIONS_QUIET_HOURS_END = "00:00", "23:59"
    response, _code = otp_sent(pho, member)
    body = response.json()
    assert body["channel"] == "sms"
    expires = datetime.datetime.fromisoformat(body["expires_at"])
    assert datetime.timedelta(minutes=4, seconds=55) < expires - timezone.now() <= datetime.timedelta(minutes=5)
    message = Message.objects.get(event="presence-code", channel="sms")  # no Zalo template in the demo
    assert message.marketing is False and message.status == "pending"
    assert abs((message.scheduled_at - timezone.now()).total_seconds()) < 5


def test_at_most_3_codes_a_member_per_10_minutes(pho, member):
    for i in range(3):
        otp_sent(pho, member, key=f"o{i}")
    before = presence_state()
    response = post(pho, f"/api/pos/v1/members/{member.pk}/otp", {}, key="o4")
    assert response.status_code == 429
    problem(response, "throttled")
    assert int(response["Retry-After"]) > 0
    assert presence_state() == before


def test_an_otp_for_an_unknown_member_is_404(pho, demo_presence):
    problem(post(pho, "/api/pos/v1/members/999999/otp", {}, key="x"), "member-not-found")
    assert PresenceCode.objects.count() == 0


# --- Redemptions ------------------------------------------------------------------------------


def test_a_redemption_needs_the_proof_too(pho, member):
    programme_settings_update(data={"presence_proof": "always"})
    path = f"/api/pos/v1/members/{member.pk}/redemptions"
    before = presence_state()
    problem(post(pho, path, {"reward": "CASH50K"}, key="r1"), "member-proof-required")
    problem(post(pho, path, {"reward": "CASH50K", "otp": "000000"}, key="r2"), "member-proof-invalid")
    assert presence_state() == before
    token = member_token_issue(member=member).token
    response = post(pho, path, {"reward": "CASH50K", "member_token": token}, key="r3")
    assert response.status_code == 201, response.content
    assert Voucher.objects.filter(member=member).count() == 1
    assert PresenceTokenUse.objects.get().cause_reference.startswith("redemption:")
