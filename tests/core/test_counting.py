"""The admin's paginator for large tables (loyalty_site/core/counting.py): a deep page read in two
steps shows the same rows, in the same order, as the plain slice."""

import pytest

from loyalty_site.core import counting
from members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_a_deep_page_read_by_its_ids_is_the_plain_slice(monkeypatch):
    for _ in range(7):
        MemberFactory()
    queryset = Member.objects.order_by("-enrolled_at", "-pk")
    plain = counting.Paginator(queryset, 2, orphans=1)
    monkeypatch.setattr(counting, "DEFERRED_FROM", 2)
    deferred = counting.EstimatedCountPaginator(queryset, 2, orphans=1)
    assert deferred.count == plain.count == 7
    for number in plain.page_range:
        assert list(deferred.page(number).object_list) == list(plain.page(number).object_list), number
    assert list(deferred.page(3).object_list) == list(queryset[4:7])  # the orphan joins the last page
