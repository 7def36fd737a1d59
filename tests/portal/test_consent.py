"""The consent page: the four channels, each saved through member_consent_set."""

from __future__ import annotations

from django.test import Client

from members.models import ConsentChange, Member
from members.services import member_merge
from tests.factories import MemberFactory
from tests.portal.helpers import sign_in


def test_the_page_shows_each_channel_and_since_when(client, db):
    member = MemberFactory(consents={"sms": True})
    sign_in(client, member)
    page = client.get("/m/consent/").content.decode()
    for channel in ("sms", "email", "zalo", "push"):
        assert f'name="consent_{channel}"' in page
    assert 'name="consent_sms" id="consent_sms" checked' in page
    assert 'name="consent_email" id="consent_email">' in page
    assert member.consent_sms_at.astimezone().strftime("%Y") in page


def test_saving_records_only_the_changed_channels_of_the_signed_in_member(client, db):
    member = MemberFactory(consents={"sms": True, "email": True})
    other = MemberFactory(consents={"sms": True})
    email_since = Member.objects.get(pk=member.pk).consent_email_at
    sign_in(client, member)
    response = client.post("/m/consent/", {"consent_email": "on", "consent_zalo": "on", "member": other.pk})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.consent_sms_at is None
    assert member.consent_email_at == email_since  # unchanged, keeps its time
    assert member.consent_zalo_at is not None and member.consent_push_at is None
    other.refresh_from_db()
    assert other.consent_sms_at is not None and other.consent_zalo_at is None
    # Each real change is on the record (Decree 13), as the member's own, and only those.
    recorded = ConsentChange.objects.filter(member=member, source=ConsentChange.Source.MEMBER_WEB)
    assert sorted(recorded.values_list("channel", "given")) == [("sms", False), ("zalo", True)]
    assert not ConsentChange.objects.filter(member=other, source=ConsentChange.Source.MEMBER_WEB).exists()


def test_signed_out_or_merged_members_change_nothing(db):
    member = MemberFactory(consents={"sms": True})
    assert Client().post("/m/consent/", {}).status_code == 302
    member.refresh_from_db()
    assert member.consent_sms_at is not None
    survivor = MemberFactory()
    client = Client()
    sign_in(client, member)
    member_merge(survivor=survivor, merged=member, reason="trùng")
    assert client.post("/m/consent/", {}).status_code == 302  # signed out: the merged member is not active
    member.refresh_from_db()
    assert member.consent_sms_at is not None
    assert not ConsentChange.objects.filter(source=ConsentChange.Source.MEMBER_WEB).exists()
