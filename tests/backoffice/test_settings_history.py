"""Roles fit (issue 16 item 6): the programme settings are the Programme lead's, every change of a
setting keeps who and when (shown in the admin's history), and Marketing may import customer
lists into groups."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.forms.models import model_to_dict

from backoffice.roles import MARKETING, PROGRAMME_LEAD, STORE_MANAGER
from loyalty_site.core.errors import DomainError
from members.models import ProgrammeSettings
from members.selectors import programme_settings_get
from members.services import programme_settings_update
from pos.checkout.limits import sale_limits_update
from pos.models import SaleLimits
from tiers.models import TierSettings
from tiers.selectors import tier_settings_get

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/admin/members/programmesettings/1/change/"


def staff(username, role):
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return get_user_model().objects.get(pk=user.pk)


def settings_form(**changes):
    programme = programme_settings_get(fresh=True)
    data = {k: ("" if v is None else v) for k, v in model_to_dict(programme).items() if k not in ("id", "updated_by")}
    return {**data, **changes}


def test_the_lead_changes_the_point_value_and_the_history_keeps_who_when_and_what(client):
    lead = staff("lead", PROGRAMME_LEAD)
    programme_settings_get(fresh=True)
    client.force_login(lead)
    assert client.get(SETTINGS_URL).status_code == 200
    response = client.post(SETTINGS_URL, settings_form(point_value="500", backdating_limit_days="3"))
    assert response.status_code == 302, response.content

    programme = ProgrammeSettings.objects.get()
    assert (programme.point_value, programme.backdating_limit_days) == (Decimal(500), 3)
    latest = programme.history.latest()
    assert latest.history_user == lead and latest.history_type == "~"
    delta = latest.diff_against(latest.prev_record)
    assert {c.field: (c.old, c.new) for c in delta.changes} == {
        "point_value": (Decimal(1000), Decimal(500)),
        "backdating_limit_days": (7, 3),
    }
    page = client.get(SETTINGS_URL.replace("change/", "history/"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "lead" in text and "500" in text
    assert "Xem lịch sử" in text and "Người thay đổi" in text  # in Vietnamese


@pytest.mark.parametrize("role", [MARKETING, STORE_MANAGER])
def test_other_roles_read_the_settings_but_cannot_change_them(client, role):
    user = staff("someone", role)
    programme_settings_update(data={"point_value": Decimal(1000)})
    before = ProgrammeSettings.history.count()
    client.force_login(user)
    assert client.post(SETTINGS_URL, settings_form(point_value="1")).status_code == 403
    assert programme_settings_get(fresh=True).point_value == Decimal(1000)
    assert ProgrammeSettings.history.count() == before
    assert not user.has_perm("members.change_programmesettings")
    assert not user.has_perm("pos.change_salelimits")
    # The history is a record: nobody edits it.
    assert not user.has_perm("members.change_historicalprogrammesettings")


def test_a_refused_change_writes_no_history():
    programme_settings_update(data={"point_value": Decimal(1000)})
    before = ProgrammeSettings.history.count()
    with pytest.raises(DomainError):
        programme_settings_update(data={"point_value": Decimal(0)})
    assert ProgrammeSettings.history.count() == before
    assert programme_settings_get(fresh=True).point_value == Decimal(1000)


def test_a_change_from_a_script_keeps_the_person_given_to_the_service():
    lead = staff("lead", PROGRAMME_LEAD)
    programme_settings_update(data={"expiry_months": 6}, updated_by=lead)
    programme_settings_update(data={"expiry_months": 9})
    first, second = ProgrammeSettings.history.order_by("history_id")[1:3]
    assert (first.expiry_months, first.history_user) == (6, lead)
    assert (second.expiry_months, second.history_user) == (9, None)


def test_sale_limits_and_tier_settings_keep_their_history_too(client):
    lead = staff("lead", PROGRAMME_LEAD)
    sale_limits_update(data={}, updated_by=None)
    client.force_login(lead)
    response = client.post(
        "/admin/pos/salelimits/1/change/",
        {"max_sale_amount": "5000000", "max_points_per_sale": "", "max_terminal_points_per_day": "1000"},
    )
    assert response.status_code == 302, response.content
    latest = SaleLimits.objects.get().history.latest()
    assert (latest.history_user, latest.max_sale_amount) == (lead, Decimal(5_000_000))
    assert client.get("/admin/pos/salelimits/1/history/").status_code == 200

    from tiers.services import tier_settings_update

    tier_settings_update(data={"window_months": 6}, updated_by=lead)
    assert TierSettings.history.latest().history_user == lead
    assert tier_settings_get(fresh=True).window_months == 6


def test_marketing_reaches_the_import_and_may_put_the_list_into_a_group(client):
    from campaigns.audiences.services import group_create

    user = staff("marketing", MARKETING)
    group = group_create(name="Sinh nhật tháng 6", by=user)
    client.force_login(user)
    page = client.get("/admin/campaigns/memberimport/upload/")
    assert page.status_code == 200
    assert group.name in page.content.decode()  # the group choice is offered
    # Still no member edits, deletions or point adjustments.
    for codename in ("add_member", "change_member", "delete_member", "adjust_points", "export_members"):
        assert not user.has_perm(f"members.{codename}"), codename
