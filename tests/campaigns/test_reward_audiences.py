"""Catalogue rewards kept for customer groups and segments (issue 16): such a reward is listed and
exchanged at the till and on the member pages only by members of one of its groups or segments;
to anyone else it does not exist (the refusal of an unknown code, nothing written). The link is
kept in `campaigns` (RewardAudience), set on the reward page's inline through the service."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backoffice.roles import MARKETING
from campaigns.audiences.models import CustomerGroup, RewardAudience, Segment, SegmentMembership
from campaigns.audiences.services import group_add_members, reward_audience_set
from portal.rewards import exchange_reference_make
from tests.factories import MemberFactory
from tests.portal.helpers import sign_in
from tests.pos.test_vouchers_api import REWARDS, client_at, problem, redeem
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import written_state
from vouchers.models import Reward, Voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def audiences(store):
    group = CustomerGroup.objects.create(name="Sinh nhật tháng 3")
    segment = Segment.objects.create(name="Khách quen")
    open_reward = RewardFactory(code="ALL10", name="Cho mọi người", points_cost=10)
    for_group = RewardFactory(code="BDAY-CAKE", name="Bánh sinh nhật", points_cost=10)
    for_segment = RewardFactory(code="REGULAR-TEA", name="Trà cho khách quen", points_cost=10)
    for_both = RewardFactory(code="BOTH-GIFT", name="Quà cho cả hai", points_cost=10)
    reward_audience_set(reward=for_group, groups=[group])
    reward_audience_set(reward=for_segment, segments=[segment])
    reward_audience_set(reward=for_both, groups=[group], segments=[segment])

    def member(*, in_group=False, in_segment=False):
        m = MemberFactory(points=100, home_store=store)
        if in_group:
            group_add_members(group=group, member_ids=[m.pk], source="other")
        if in_segment:
            SegmentMembership.objects.create(segment=segment, member=m)
        return m

    return {
        "group": group,
        "segment": segment,
        "member": member,
        "rewards": {r.code: r for r in (open_reward, for_group, for_segment, for_both)},
    }


@pytest.fixture
def till(store):
    return client_at(store)


def listed(till, member=None):
    params = {"member": member.pk} if member is not None else {}
    response = till.get(REWARDS, params)
    assert response.status_code == 200
    return sorted(r["code"] for r in response.json())


def test_the_till_lists_a_kept_reward_to_the_members_of_its_groups_and_segments_only(till, audiences):
    member = audiences["member"]
    assert listed(till, member(in_group=True)) == ["ALL10", "BDAY-CAKE", "BOTH-GIFT"]
    assert listed(till, member(in_segment=True)) == ["ALL10", "BOTH-GIFT", "REGULAR-TEA"]
    assert listed(till, member(in_group=True, in_segment=True)) == ["ALL10", "BDAY-CAKE", "BOTH-GIFT", "REGULAR-TEA"]
    assert listed(till, member()) == ["ALL10"]
    assert listed(till) == ["ALL10"]  # nobody named: nobody's groups


def test_a_hidden_reward_is_refused_like_an_unknown_code_and_nothing_is_written(till, audiences):
    outsider = audiences["member"](in_segment=True)
    before = written_state()
    hidden = problem(redeem(till, outsider.pk, {"reward": "BDAY-CAKE"}, key="r-hidden"), "reward-unavailable")
    unknown = problem(redeem(till, outsider.pk, {"reward": "NO-SUCH"}, key="r-unknown"), "reward-unavailable")
    assert hidden["reason"] == unknown["reason"] == "unknown"
    assert hidden["status"] == unknown["status"] == 422
    assert hidden["detail"] == unknown["detail"].replace("NO-SUCH", "BDAY-CAKE")
    assert written_state() == before
    assert not Voucher.objects.exists()

    insider = audiences["member"](in_group=True)
    assert redeem(till, insider.pk, {"reward": "BDAY-CAKE"}, key="r-ok").status_code == 201
    assert Voucher.objects.get().member_id == insider.pk


def test_a_member_taken_out_of_the_group_loses_the_reward(till, audiences):
    from campaigns.audiences.services import group_remove_members

    member = audiences["member"](in_group=True)
    assert "BDAY-CAKE" in listed(till, member)
    group_remove_members(group=audiences["group"], member_ids=[member.pk])
    assert "BDAY-CAKE" not in listed(till, member)
    before = written_state()
    assert problem(redeem(till, member.pk, {"reward": "BDAY-CAKE"}), "reward-unavailable")["reason"] == "unknown"
    assert written_state() == before


def rewards_on_page(client):
    return sorted(re.findall(r'data-reward="([A-Z0-9-]+)"', client.get("/m/rewards/").content.decode()))


def test_the_member_pages_show_and_exchange_a_kept_reward_for_its_members_only(client, audiences):
    outsider = audiences["member"]()
    sign_in(client, outsider)
    assert rewards_on_page(client) == ["ALL10"]
    before = written_state()
    assert client.get("/m/rewards/BDAY-CAKE/").status_code == 404
    reward = audiences["rewards"]["BDAY-CAKE"]
    reference = exchange_reference_make(member=outsider, reward=reward)
    assert client.post("/m/rewards/BDAY-CAKE/", {"reference": reference}).status_code == 404
    assert written_state() == before

    client.logout()
    insider = audiences["member"](in_group=True)
    sign_in(client, insider)
    assert rewards_on_page(client) == ["ALL10", "BDAY-CAKE", "BOTH-GIFT"]
    reference = exchange_reference_make(member=insider, reward=reward)
    assert client.post("/m/rewards/BDAY-CAKE/", {"reference": reference}).status_code == 200
    assert Voucher.objects.get().member_id == insider.pk


def test_the_service_sets_exactly_the_audience_given(audiences):
    reward = audiences["rewards"]["BOTH-GIFT"]
    other = CustomerGroup.objects.create(name="Khác")
    reward_audience_set(reward=reward, groups=[other, other], segments=[])
    assert list(RewardAudience.objects.filter(reward=reward).values_list("group_id", "segment_id")) == [
        (other.pk, None)
    ]
    reward_audience_set(reward=reward)
    assert not RewardAudience.objects.filter(reward=reward).exists()


# --- The reward page's inline (composed in backoffice) ------------------------------------------


REWARD_FORM = {
    "code": "BDAY-50K",
    "name": "Giảm 50.000 đ sinh nhật",
    "kind": "cash",
    "value": "50000",
    "points_cost": "0",
    "is_visible": "on",
    "validity": "days",
    "validity_days": "30",
    "min_invoice": "0",
    "limit_period": "ever",
}


def inline(rows):
    data = {
        "audiences-TOTAL_FORMS": str(len(rows)),
        "audiences-INITIAL_FORMS": "0",
        "audiences-MIN_NUM_FORMS": "0",
        "audiences-MAX_NUM_FORMS": "1000",
    }
    for i, (group, segment) in enumerate(rows):
        data[f"audiences-{i}-group"] = str(group.pk) if group else ""
        data[f"audiences-{i}-segment"] = str(segment.pk) if segment else ""
    return data


@pytest.fixture
def marketing_client(client, django_user_model):
    user = django_user_model.objects.create_user("mkt", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=MARKETING))
    client.force_login(user)
    return client


def test_marketing_keeps_a_new_reward_for_a_group_and_a_segment_on_the_reward_page(marketing_client, audiences):
    group, segment = audiences["group"], audiences["segment"]
    response = marketing_client.post(
        reverse("admin:vouchers_reward_add"), {**REWARD_FORM, **inline([(group, None), (None, segment)])}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    reward = Reward.objects.get(code="BDAY-50K")
    assert sorted(
        RewardAudience.objects.filter(reward=reward).values_list("group_id", "segment_id"), key=str
    ) == sorted([(group.pk, None), (None, segment.pk)], key=str)
    page = marketing_client.get(reverse("admin:vouchers_reward_change", args=[reward.pk])).content.decode()
    assert "Sinh nhật tháng 3" in page and "Khách quen" in page


def test_a_row_with_both_a_group_and_a_segment_is_refused_and_nothing_is_written(marketing_client, audiences):
    before = (Reward.objects.count(), RewardAudience.objects.count())
    response = marketing_client.post(
        reverse("admin:vouchers_reward_add"),
        {**REWARD_FORM, **inline([(audiences["group"], audiences["segment"])])},
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert response.status_code == 200
    assert "Chọn một nhóm khách hàng hoặc một phân khúc." in response.content.decode()
    assert (Reward.objects.count(), RewardAudience.objects.count()) == before
