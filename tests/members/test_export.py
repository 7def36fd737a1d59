"""The point ledger exported from its (read-only) list: signed numbers stay numbers, text is
formula-safe, the export needs its permission and is recorded."""

from __future__ import annotations

import pytest

from loyalty_site.core.models import ExportRecord
from members.models import LedgerEntry
from members.resources import LedgerEntryResource
from members.services import points_adjust
from tests.export_helpers import CSV, XLSX, as_dicts, export, headers, rows_of, staff_client
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(db):
    member = MemberFactory(name="Trần Thị Hoa", points=300)
    points_adjust(member=member, points=-120, reason="-Trừ điểm sai", created_by=None, reference="test:adjust:1")
    return member


@pytest.mark.parametrize("fmt", [XLSX, CSV])
def test_the_ledger_exports_signed_points_and_safe_text(entries, fmt):
    client, _user = staff_client("members.view_ledgerentry", "members.export_ledgerentry")

    rows = as_dicts(rows_of(export(client, "members.ledgerentry", LedgerEntryResource, fmt), fmt))

    head = headers(LedgerEntryResource)
    by_points = {row[head["points"]]: row for row in rows}
    adjust = by_points[-120 if fmt == XLSX else "-120"]  # a negative number is not escaped
    assert adjust[head["reason"]] == "'-Trừ điểm sai"
    assert adjust[head["member_code"]] == entries.code
    assert adjust[head["balance_after"]] == (180 if fmt == XLSX else "180")
    record = ExportRecord.objects.get()
    assert (record.model, record.rows) == ("members.ledgerentry", LedgerEntry.objects.count())


def test_the_ledger_export_is_refused_without_its_permission(entries):
    client, _user = staff_client("members.view_ledgerentry")

    assert export(client, "members.ledgerentry", LedgerEntryResource, XLSX).status_code == 403
    assert not ExportRecord.objects.exists()
