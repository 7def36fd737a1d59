"""The member's history: their own ledger entries, newest first, 20 a page."""

from __future__ import annotations

from members.models import LedgerEntry
from members.services import points_earn
from tests.factories import MemberFactory
from tests.portal.helpers import sign_in


def earn(member, n: int) -> LedgerEntry:
    return points_earn(
        member=member, points=n, kind=LedgerEntry.Kind.BONUS, reference=f"test:{member.pk}:{n}", cause_kind="test"
    )


def test_history_is_the_members_own_entries_newest_first_and_paged(client, db):
    member, other = MemberFactory(), MemberFactory()
    for n in range(1, 26):
        earn(member, n)
    theirs = earn(other, 999)
    sign_in(client, member)
    first = client.get("/m/history/")
    entries = list(first.context["page"])
    assert len(entries) == 20
    assert [e.points for e in entries] == list(range(25, 5, -1))
    assert all(e.member_id == member.pk for e in entries)
    assert f'data-entry="{theirs.pk}"' not in first.content.decode()
    second = client.get("/m/history/?page=2")
    assert [e.points for e in second.context["page"]] == [5, 4, 3, 2, 1]
    # A page beyond the end, or garbage, shows a real page, never an error.
    assert client.get("/m/history/?page=99").status_code == 200
    assert client.get("/m/history/?page=abc").status_code == 200
