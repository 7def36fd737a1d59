"""Issue 14's first proof, swept across every page: a signed-in member never sees or acts on
another member's data, whatever ids the request names. Each page's own tests try the page's
particular ways in (another's claim link, exchange form, push endpoint, unsubscribe token); here
every GET page is asked for the other member by every id parameter a crafted link could carry,
and every POST is sent with the other member named, and the other member's rows stay as they
were."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from members.models import ConsentChange, LedgerEntry, Member
from members.services import points_earn
from notifications.models import MemberPreference, PushSubscription
from portal.models import MemberSession
from portal.rewards import exchange_reference_make
from tests.factories import MemberFactory, StoreFactory
from tests.portal.helpers import sign_in
from tests.portal.test_push import SUBSCRIBE, UNSUBSCRIBE, subscription
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import written_state
from vouchers.models import Voucher
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db

PAGES = ["/m/", "/m/card/", "/m/card/token/", "/m/history/", "/m/rewards/", "/m/rewards/SHARED/", "/m/vouchers/"]
PAGES += ["/m/consent/"]


def crafted(path: str, other: Member) -> str:
    ids = f"member={other.pk}&member_id={other.pk}&id={other.pk}&m={other.pk}&code={other.code}&page=1"
    return f"{path}?{ids}"


@pytest.fixture
def two_members(db):
    """`mine` (signed in) and `theirs`, each with points, a ledger entry, a voucher and consent."""
    reward = RewardFactory(code="SHARED", name="Giảm 40.000 đ", points_cost=10)
    store = StoreFactory()
    people = []
    for name, points in (("Nguyễn Văn Mình", 1111), ("Hoàng Thị Khác", 7777)):
        member = MemberFactory(name=name, points=points, home_store=store, consents={"sms": True, "email": True})
        entry = points_earn(
            member=member, points=3, kind=LedgerEntry.Kind.BONUS, reference=f"iso:{member.pk}", cause_kind="test"
        )
        voucher = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)
        people.append((Member.objects.get(pk=member.pk), entry, voucher))
    return people


def their_state(member: Member) -> dict:
    return {
        "member": list(
            Member.objects.filter(pk=member.pk).values_list(
                "points_balance", "consent_sms_at", "consent_email_at", "consent_zalo_at", "consent_push_at"
            )
        ),
        "consent_changes": ConsentChange.objects.filter(member=member).count(),
        "sessions": list(MemberSession.objects.filter(member=member).values_list("pk", "ended_at")),
        "vouchers": list(Voucher.objects.filter(member=member).values_list("code", "status")),
        "ledger": LedgerEntry.objects.filter(member=member).count(),
        "push": list(PushSubscription.objects.filter(member=member).values_list("endpoint", "disabled_at")),
        "preference": list(MemberPreference.objects.filter(member=member).values_list("push_token")),
    }


@pytest.mark.parametrize("path", PAGES)
def test_no_page_shows_another_member_whatever_the_link_names(client, two_members, path):
    (mine, _my_entry, my_voucher), (theirs, their_entry, their_voucher) = two_members
    sign_in(client, mine)
    response = client.get(crafted(path, theirs))
    assert response.status_code == 200, path
    # The language switch sends the visitor back to the same address: that echo is not data.
    page = re.sub(r'name="next" value="[^"]*"', "", response.content.decode())
    balance = theirs.points_balance
    shown_balance = (f"{balance:,}", f"{balance:,}".replace(",", "."), f'="{balance}"')
    for secret in (theirs.name, theirs.code, theirs.phone, theirs.phone[-9:], their_voucher.code, *shown_balance):
        assert secret not in page, (path, secret)
    assert f'data-entry="{their_entry.pk}"' not in page
    if path in ("/m/", "/m/rewards/"):
        assert f'data-points-balance="{mine.points_balance}"' in page
    if path == "/m/vouchers/":
        assert f'data-voucher="{my_voucher.code}"' in page


def test_no_post_acts_on_another_member_whatever_the_form_names(client, two_members):
    (mine, _e, _v), (theirs, _their_entry, their_voucher) = two_members
    their_device = Client()
    sign_in(their_device, theirs)
    endpoint = "https://fcm.googleapis.com/fcm/send/theirs-1"
    subscribed = their_device.post(SUBSCRIBE, data=json.dumps(subscription(endpoint)), content_type="application/json")
    assert subscribed.status_code in (200, 201), subscribed.content
    sign_in(client, mine)
    before = their_state(theirs)
    names_them = {"member": theirs.pk, "member_id": theirs.pk, "id": theirs.pk, "code": theirs.code}

    client.post("/m/consent/", {**names_them})  # every box unticked: withdraws consent, of mine only
    client.post(
        "/m/rewards/SHARED/",
        {**names_them, "reference": exchange_reference_make(member=theirs, reward=their_voucher.reward)},
    )
    client.post(UNSUBSCRIBE, data=json.dumps({"endpoint": endpoint, **names_them}), content_type="application/json")
    client.post(SUBSCRIBE, data=json.dumps(subscription(endpoint, **names_them)), content_type="application/json")
    client.post("/m/sign-out/", names_them)

    assert their_state(theirs) == before
    assert their_device.get("/m/").status_code == 200  # their device is still signed in
    assert f'data-points-balance="{theirs.points_balance}"'.encode() in their_device.get("/m/").content
    mine.refresh_from_db()
    assert mine.consent_sms_at is None  # the consent post did act, on the signed-in member


def test_a_member_session_cookie_is_worth_nothing_under_another_name(client, two_members):
    """The cookie is the only key: the session row's member is the one shown, and a cookie
    cannot be pointed at another member by anything else the browser sends."""
    (mine, _e, _v), (theirs, _e2, _v2) = two_members
    sign_in(client, mine)
    before = written_state()
    client.cookies["member"] = str(theirs.pk)
    client.cookies["member_id"] = str(theirs.pk)
    response = client.get("/m/", HTTP_X_MEMBER_ID=str(theirs.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert mine.name in page and theirs.name not in page
    assert written_state() == before
