"""The record of consent changes (Decree 13/2023): one `ConsentChange` per real change, with
when, how and by whom; none when nothing changes; refusals write nothing."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from loyalty_site.core.errors import ValidationFailed
from members.models import ConsentChange, Member
from members.services import member_consent_set, member_enrol, member_merge
from tests.factories import MemberFactory
from tests.members.helpers import days_ago, written_state

pytestmark = pytest.mark.django_db


def changes(member) -> list[tuple]:
    return list(
        ConsentChange.objects.filter(member=member).order_by("pk").values_list("channel", "given", "source", "by_id")
    )


def test_enrolment_records_each_consent_given_with_its_source_and_none_for_the_others(django_user_model):
    staff = django_user_model.objects.create_user("thu", is_staff=True)
    member = member_enrol(
        name="Lê Văn Hùng",
        phone="0912345678",
        channel=Member.Channel.ADMIN,
        consents={"sms": True, "email": False, "zalo": True},
        consent_source=ConsentChange.Source.STAFF,
        consent_by=staff,
    )
    assert changes(member) == [("sms", True, "staff", staff.pk), ("zalo", True, "staff", staff.pk)]
    recorded = ConsentChange.objects.get(member=member, channel="sms")
    assert recorded.at == member.consent_sms_at


def test_enrolment_with_consents_but_no_source_is_a_programming_error_and_writes_nothing():
    before = written_state()
    with pytest.raises(ValueError, match="consent source"):
        member_enrol(name="A", phone="0912345678", channel="admin", consents={"sms": True})
    with pytest.raises(ValueError, match="consent source"):
        member_enrol(name="A", phone="0912345678", channel="admin", consents={"sms": True}, consent_source="fax")
    assert written_state() == before


def test_enrolment_without_consents_records_nothing():
    member = member_enrol(name="Lê Văn Hùng", phone="0912345678", channel=Member.Channel.API)
    assert changes(member) == []


def test_one_row_per_real_change_and_none_when_nothing_changes(django_user_model):
    staff = django_user_model.objects.create_user("thu", is_staff=True)
    member = MemberFactory()
    given_at = days_ago(3)
    member_consent_set(member=member, channel="email", given=True, at=given_at, source="member-web")
    member_consent_set(member=member, channel="email", given=True, source="till")  # already given
    member_consent_set(member=member, channel="sms", given=False, source="staff")  # never given
    member_consent_set(member=member, channel="email", given=False, source="staff", by=staff, note="Khách gọi điện")
    member_consent_set(member=member, channel="email", given=False, source="unsubscribe-link")  # again
    assert changes(member) == [("email", True, "member-web", None), ("email", False, "staff", staff.pk)]
    first, second = ConsentChange.objects.filter(member=member).order_by("pk")
    assert first.at == given_at
    assert second.note == "Khách gọi điện"
    assert Member.objects.get(pk=member.pk).consent_email_at is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "fax", "given": True, "source": "staff"}, ValidationFailed),
        ({"channel": "sms", "given": "yes", "source": "staff"}, ValidationFailed),
        ({"channel": "sms", "given": True, "source": "carrier-pigeon"}, ValueError),
    ],
)
def test_refusals_write_nothing(kwargs, error):
    member = MemberFactory()
    before = written_state()
    with pytest.raises(error):
        member_consent_set(member=member, **kwargs)
    assert written_state() == before


def test_a_merge_records_the_consents_the_survivor_gains(django_user_model):
    staff = django_user_model.objects.create_user("thu", is_staff=True)
    survivor = MemberFactory(consents={"email": True})
    merged = MemberFactory(consents={"sms": True, "email": True})
    before = ConsentChange.objects.filter(member=survivor).count()
    member_merge(survivor=survivor, merged=merged, merged_by=staff)
    gained = ConsentChange.objects.filter(member=survivor).order_by("pk")[before:]
    assert [(c.channel, c.given, c.source, c.by_id) for c in gained] == [("sms", True, "merge", staff.pk)]
    assert merged.code in gained[0].note


def test_the_staff_edits_in_the_admin_are_recorded_with_the_user_and_shown_read_only(admin_client, admin_user):
    member = MemberFactory(phone="0912345678", consents={"email": True})
    response = admin_client.post(
        f"/admin/members/member/{member.pk}/change/",
        {"name": member.name, "phone": "+84912345678", "email": "", "birthday": "", "gender": "",
         "consent_zalo": "on", "change_reason": "",
         "cards-TOTAL_FORMS": "0", "cards-INITIAL_FORMS": "0", "cards-MAX_NUM_FORMS": "0"},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert changes(member)[-2:] == [("email", False, "staff", admin_user.pk), ("zalo", True, "staff", admin_user.pk)]
    page = admin_client.get(f"/admin/members/member/{member.pk}/change/").content.decode()
    assert "Staff in the back office" in page or "Nhân viên" in page
    assert admin_user.get_username() in page


def test_the_time_of_a_change_defaults_to_now():
    member = MemberFactory()
    before = timezone.now()
    member_consent_set(member=member, channel="push", given=True, source="member-web")
    recorded = ConsentChange.objects.get(member=member)
    assert before <= recorded.at <= timezone.now() + datetime.timedelta(seconds=1)
