"""The tier ladder through django-import-export: export, and import checked by `tier_save`
(every row and the whole ladder) with nothing written on a refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty_site.core.models import ExportRecord
from tests.export_helpers import XLSX, as_dicts, export, headers, import_confirm, import_preview, rows_of, staff_client
from tests.export_helpers import xlsx_bytes as workbook
from tiers.models import Tier
from tiers.resources import TierResource

pytestmark = pytest.mark.django_db

IMPORT_TIERS = ("tiers.view_tier", "tiers.add_tier", "tiers.change_tier", "tiers.import_tier")


def ladder() -> list[tuple]:
    return list(Tier.objects.order_by("rank").values_list("code", "rank", "threshold", "earn_rate_percent"))


def test_the_ladder_exports_in_rank_order_with_numbers(tiers):
    client, _user = staff_client("tiers.view_tier", "tiers.export_tier")

    rows = as_dicts(rows_of(export(client, "tiers.tier", TierResource, XLSX)))

    head = headers(TierResource)
    assert [row[head["code"]] for row in rows] == ["MEMBER", "VIP", "DIAMOND"]
    assert [row[head["threshold"]] for row in rows] == [0, 5_000_000, 20_000_000]
    assert ExportRecord.objects.get().rows == 3


def test_a_new_tier_is_imported_after_its_preview(tiers):
    client, _user = staff_client(*IMPORT_TIERS)
    head = headers(TierResource)
    content = workbook([
        [head["code"], head["rank"], head["name"], head["threshold"], head["earn_rate_percent"]],
        ["PLATINUM", 40, "Bạch kim", 50_000_000, 15],
    ])  # fmt: skip
    before = ladder()

    preview = import_preview(client, "tiers.tier", content)
    assert "confirm_form" in preview.context
    assert ladder() == before
    import_confirm(client, "tiers.tier", preview)

    platinum = Tier.objects.get(code="PLATINUM")
    assert (platinum.rank, platinum.threshold, platinum.earn_rate_percent) == (40, Decimal(50_000_000), Decimal(15))


def test_a_row_that_would_break_the_ladder_is_refused_and_nothing_is_written(tiers):
    client, _user = staff_client(*IMPORT_TIERS)
    head = headers(TierResource)
    content = workbook([
        [head["code"], head["rank"], head["name"], head["threshold"], head["earn_rate_percent"]],
        ["PLATINUM", 40, "Bạch kim", 50_000_000, 15],
        ["GOLD", 25, "Vàng", 1_000, 11],  # above VIP in rank, below it in threshold
    ])  # fmt: skip
    before = ladder()

    preview = import_preview(client, "tiers.tier", content)

    assert "confirm_form" not in preview.context
    [invalid] = preview.context["result"].invalid_rows
    assert invalid.number == 2
    assert "threshold" in invalid.error.message_dict
    assert ladder() == before
