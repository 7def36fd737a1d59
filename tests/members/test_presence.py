"""The card token and the one-time code of `members.presence`: rotating, short-lived and not
forgeable from what the database holds (the key is derived from SECRET_KEY)."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from members.models import PresenceCode, PresenceKey
from members.presence import code_hash
from members.selectors import member_by_token
from members.services import member_token_issue, presence_code_issue
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_the_token_changes_every_minute_and_is_valid_120_seconds():
    member = MemberFactory()
    start = datetime.datetime(2025, 6, 1, 3, 0, tzinfo=datetime.UTC)  # a step boundary
    token = member_token_issue(member=member, at=start)
    assert token.valid_until == start + datetime.timedelta(seconds=120)
    assert member_token_issue(member=member, at=start + datetime.timedelta(seconds=59)).token == token.token
    assert member_token_issue(member=member, at=start + datetime.timedelta(seconds=60)).token != token.token
    for seconds, found in [(0, True), (119, True), (120, False)]:
        at = start + datetime.timedelta(seconds=seconds)
        assert (member_by_token(token=token.token, at=at) is not None) is found, seconds
    assert member_by_token(token=token.token.lower(), at=start)[0] == member


def test_the_token_names_neither_the_member_id_nor_the_code():
    member = MemberFactory()
    token = member_token_issue(member=member).token
    key = PresenceKey.objects.get(member=member)
    assert member.code not in token and key.secret not in token
    assert len(key.handle) == 12 and key.handle in token


def test_the_database_alone_cannot_make_a_token():
    """The same handle and secret under another SECRET_KEY give another token."""
    member = MemberFactory()
    at = timezone.now()
    token = member_token_issue(member=member, at=at).token
    with override_settings(SECRET_KEY="someone-who-only-read-the-database-" + "x" * 20):
        assert member_token_issue(member=member, at=at).token != token
        assert member_by_token(token=token, at=at) is None


def test_codes_are_six_digits_stored_as_a_keyed_hash():
    member = MemberFactory()
    _row, code = presence_code_issue(member=member)
    assert len(code) == 6 and code.isdigit()
    stored = PresenceCode.objects.get()
    assert stored.code_hash == code_hash(code=code, salt=stored.salt) and code not in stored.code_hash
    assert stored.expires_at - stored.created_at == datetime.timedelta(minutes=5)
    with override_settings(SECRET_KEY="another-secret-key-" + "y" * 40):
        assert code_hash(code=code, salt=stored.salt) != stored.code_hash
