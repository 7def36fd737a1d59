"""The card page: the rotating token's QR (the till's proof of presence) and the barcode."""

from __future__ import annotations

import datetime

import time_machine
from django.test import Client
from django.utils import timezone

from members.selectors import member_by_token
from tests.factories import MemberFactory
from tests.portal.helpers import sign_in


def test_the_card_shows_the_members_current_token_and_barcode(client, db):
    member, other = MemberFactory(), MemberFactory()
    sign_in(client, member)
    response = client.get("/m/card/")
    page = response.content.decode()
    assert response.status_code == 200 and response["X-Robots-Tag"].startswith("noindex")
    token = response.context["token"]["token"]
    assert member_by_token(token=token)[0] == member
    assert page.count("<svg") == 2  # the QR and the barcode, inline
    assert f'data-member-code="{member.code}"' in page and other.code not in page
    assert 'src="/static/portal/card.js"' in page and "<script>" not in page  # CSP: no inline script
    assert '<meta http-equiv="refresh" content="60">' in page  # without JavaScript


def test_the_token_endpoint_gives_a_new_token_each_minute_for_the_signed_in_member_only(client, db):
    member, other = MemberFactory(), MemberFactory()
    sign_in(client, member)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = client.get("/m/card/token/").json()
    with time_machine.travel(start + datetime.timedelta(seconds=61), tick=False):
        second = client.get("/m/card/token/").json()
        assert second["token"] != first["token"]
        assert member_by_token(token=second["token"])[0] == member
        assert second["svg"].startswith("<svg")
    with time_machine.travel(start + datetime.timedelta(seconds=121), tick=False):
        assert member_by_token(token=first["token"]) is None  # valid 120 s at most
    # Another member's page only ever shows their own token.
    other_client = Client()
    sign_in(other_client, other)
    assert member_by_token(token=other_client.get(f"/m/card/token/?member={member.pk}").json()["token"])[0] == other
    assert Client().get("/m/card/token/").status_code == 302
