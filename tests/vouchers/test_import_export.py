"""Rewards and vouchers through django-import-export: the export (content, formula safety,
permission, record) and the reward import with its preview and confirm."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from loyalty_site.core.models import ExportRecord
from tests.export_helpers import (
    CSV,
    XLSX,
    as_dicts,
    export,
    headers,
    import_confirm,
    import_preview,
    rows_of,
    staff_client,
    xlsx_bytes,
)
from tests.vouchers.factories import RewardFactory, percent_reward
from vouchers.models import Reward, Voucher
from vouchers.resources import RewardResource, VoucherResource
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db

IMPORT_REWARDS = ("vouchers.view_reward", "vouchers.add_reward", "vouchers.change_reward", "vouchers.import_reward")


def reward_state() -> list[tuple]:
    return list(Reward.objects.order_by("code").values_list("code", "name", "kind", "value", "points_cost"))


# --- Vouchers: export only ----------------------------------------------------------------------


def test_the_voucher_list_exports_as_xlsx_and_the_export_is_recorded(member):
    reward = RewardFactory(code="CASH50K", name="Giảm 50.000đ")
    voucher = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.STAFF, reason="Khách quen")
    client, user = staff_client("vouchers.view_voucher", "vouchers.export_voucher")

    response = export(client, "vouchers.voucher", VoucherResource, XLSX)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    head = headers(VoucherResource)
    [row] = as_dicts(rows_of(response))
    assert row[head["code"]] == voucher.code
    assert row[head["reward_code"]] == "CASH50K"
    assert row[head["member_code"]] == member.code
    assert row[head["status"]] == "Đã phát hành"
    assert row[head["points_spent"]] == 0  # a number, not text
    record = ExportRecord.objects.get()
    assert (record.user, record.username, record.model, record.file_format, record.rows) == (
        user,
        "staff",
        "vouchers.voucher",
        "xlsx",
        1,
    )


def test_the_export_follows_the_list_filters(member):
    cash = RewardFactory(code="CASH50K")
    other = RewardFactory(code="CASH20K")
    voucher_issue(reward=cash, member=member, channel=Voucher.Channel.STAFF, reason="x")
    voucher_issue(reward=other, member=member, channel=Voucher.Channel.STAFF, reason="x")
    client, _user = staff_client("vouchers.view_voucher", "vouchers.export_voucher")

    response = export(client, "vouchers.voucher", VoucherResource, CSV, query=f"?reward__id__exact={cash.pk}")

    rows = as_dicts(rows_of(response, CSV))
    assert [row[headers(VoucherResource)["reward_code"]] for row in rows] == ["CASH50K"]
    record = ExportRecord.objects.get()
    assert (record.file_format, record.rows, record.filters) == ("csv", 1, f"reward__id__exact={cash.pk}")


def test_without_the_export_permission_there_is_no_button_no_action_and_no_file(member):
    client, _user = staff_client("vouchers.view_voucher", "vouchers.change_voucher")
    export_url = reverse("admin:vouchers_voucher_export")

    page = client.get(reverse("admin:vouchers_voucher_changelist"))
    refused = export(client, "vouchers.voucher", VoucherResource, XLSX)

    assert page.status_code == 200
    assert export_url not in page.content.decode()
    assert "export_admin_action" not in page.content.decode()
    assert reverse("admin:vouchers_voucher_issue") not in page.content.decode()  # no add permission either
    assert refused.status_code == 403
    assert not ExportRecord.objects.exists()


def test_the_list_keeps_its_own_buttons_beside_export(member):
    voucher_issue(reward=RewardFactory(), member=member, channel=Voucher.Channel.STAFF, reason="x")
    client, _user = staff_client("vouchers.view_voucher", "vouchers.add_voucher", "vouchers.export_voucher")

    page = client.get(reverse("admin:vouchers_voucher_changelist")).content.decode()

    assert reverse("admin:vouchers_voucher_issue") in page
    assert reverse("admin:vouchers_voucher_export") in page
    assert "export_admin_action" in page


# --- Rewards: export, formula safety -----------------------------------------------------------


DANGEROUS = ['=HYPERLINK("http://x")', "+SUM(A1)", "-50% cà phê", "@cmd"]


@pytest.fixture
def dangerous_rewards(db):
    return [RewardFactory(code=f"R{i}", name=name, terms="\tTab") for i, name in enumerate(DANGEROUS)]


@pytest.mark.parametrize("fmt", [XLSX, CSV])
def test_text_cells_are_neutralised_and_numbers_stay_numbers(dangerous_rewards, fmt):
    client, _user = staff_client("vouchers.view_reward", "vouchers.export_reward")

    rows = as_dicts(rows_of(export(client, "vouchers.reward", RewardResource, fmt), fmt))

    head = headers(RewardResource)
    assert sorted(row[head["name"]] for row in rows) == sorted("'" + name for name in DANGEROUS)
    assert {row[head["terms"]] for row in rows} == {"'\tTab"}
    assert {row[head["points_cost"]] for row in rows} == ({50} if fmt == XLSX else {"50"})
    assert {row[head["value"]] for row in rows} == ({50000} if fmt == XLSX else {"50000.00"})


# --- Rewards: import with preview and confirm --------------------------------------------------


def test_reward_import_previews_without_writing_then_confirms(pho_brand, pho_store):
    RewardFactory(code="CASH50K", name="Giảm 50.000đ", points_cost=50)
    client, user = staff_client(*IMPORT_REWARDS)
    head = headers(RewardResource)
    content = xlsx_bytes([
        [head["code"], head["name"], head["kind"], head["value"], head["points_cost"], head["validity"],
         head["validity_days"], head["brands"], head["stores"]],
        ["CASH50K", "Giảm 50.000 đồng", "cash", 50000, 60, "days", 30, "", ""],
        ["CASH100K", "'-100K cho khách mới", "cash", 100000, 100, "days", 15, "PHO", "PHO-HN01"],
    ])  # fmt: skip
    before = reward_state()

    preview = import_preview(client, "vouchers.reward", content)

    assert preview.status_code == 200
    assert "confirm_form" in preview.context
    assert not preview.context["result"].has_validation_errors()
    assert reward_state() == before  # the preview wrote nothing

    done = import_confirm(client, "vouchers.reward", preview)

    assert done.status_code == 302
    changed = Reward.objects.get(code="CASH50K")
    assert (changed.name, changed.points_cost) == ("Giảm 50.000 đồng", 60)
    added = Reward.objects.get(code="CASH100K")
    assert added.name == "-100K cho khách mới"  # our own quote is taken back off
    assert list(added.brands.values_list("code", flat=True)) == ["PHO"]
    assert list(added.stores.values_list("code", flat=True)) == ["PHO-HN01"]
    assert added.issued_count == 0
    assert LogEntry.objects.filter(user=user).count() == 2


def test_a_refused_row_shows_its_errors_and_nothing_is_written(pho_brand):
    RewardFactory(code="CASH50K", name="Giảm 50.000đ", points_cost=50)
    client, _user = staff_client(*IMPORT_REWARDS)
    head = headers(RewardResource)
    content = xlsx_bytes([
        [head["code"], head["name"], head["kind"], head["value"], head["points_cost"], head["validity"],
         head["validity_days"], head["brands"]],
        ["CASH50K", "Đổi tên", "cash", 50000, 70, "days", 30, ""],
        ["PCT10", "Giảm 10%", "percent", None, 10, "days", 30, ""],  # a percent needs its percent and cap
        ["CASH1", "Một đồng", "cash", 1, 10, "days", 30, "NOPE"],  # no such brand
    ])  # fmt: skip
    before = reward_state()

    preview = import_preview(client, "vouchers.reward", content)

    result = preview.context["result"]
    assert "confirm_form" not in preview.context
    invalid = {row.number: row.error.message_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "percent" in invalid[2] and "cap" in invalid[2]
    assert "NOPE" in " ".join(invalid[3]["brands"])
    assert reward_state() == before


def test_a_confirm_that_meets_a_refusal_writes_nothing(pho_brand):
    """The file is checked again on confirm; what changed since the preview refuses the whole
    import, the valid rows included."""
    RewardFactory(code="CASH50K", name="Giảm 50.000đ", points_cost=50)
    client, _user = staff_client(*IMPORT_REWARDS)
    head = headers(RewardResource)
    content = xlsx_bytes([
        [head["code"], head["name"], head["kind"], head["value"], head["points_cost"], head["validity"],
         head["validity_days"]],
        ["NEW1", "Mới", "cash", 1000, 10, "days", 30],
        ["PCT10", "Giảm 10%", "percent", 10, 10, "days", 30],
    ])  # fmt: skip
    preview = import_preview(client, "vouchers.reward", xlsx_bytes([[head["code"]], ["CASH50K"]]))
    # The stored upload is replaced by a file with a refused row before the confirm.
    from django.core.cache import cache
    from import_export.tmp_storages import CacheStorage

    cache.set(CacheStorage.CACHE_PREFIX + preview.context["confirm_form"].initial["import_file_name"], content)
    before = reward_state()

    done = import_confirm(client, "vouchers.reward", preview)

    assert done.status_code == 302
    assert done["Location"] == reverse("admin:vouchers_reward_import")
    assert reward_state() == before
    assert not LogEntry.objects.exists()  # the library would log the rolled-back rows


def test_import_needs_the_import_add_and_change_permissions(db):
    head = headers(RewardResource)
    content = xlsx_bytes([[head["code"], head["name"], head["kind"], head["value"], head["validity"],
                           head["validity_days"]], ["NEW1", "Mới", "cash", 1000, "days", 30]])  # fmt: skip
    without_change, _ = staff_client("vouchers.view_reward", "vouchers.add_reward", "vouchers.import_reward")
    without_import, _ = staff_client(
        "vouchers.view_reward", "vouchers.add_reward", "vouchers.change_reward", username="other"
    )

    for client in (without_change, without_import):
        page = client.get(reverse("admin:vouchers_reward_changelist")).content.decode()
        assert reverse("admin:vouchers_reward_import") not in page
        assert import_preview(client, "vouchers.reward", content).status_code == 403
    assert not Reward.objects.exists()


def test_an_oversized_upload_is_refused_before_it_is_read(db):
    client, _user = staff_client(*IMPORT_REWARDS)

    preview = import_preview(client, "vouchers.reward", b"x" * (2 * 1024 * 1024 + 1), name="big.csv", fmt=CSV)

    assert preview.context["form"].errors["import_file"]
    assert not Reward.objects.exists()


def test_the_percent_reward_exports_its_decimals(db):
    percent_reward(code="PCT10", percent=Decimal("12.5"), cap=Decimal(30000))
    client, _user = staff_client("vouchers.view_reward", "vouchers.export_reward")

    [row] = as_dicts(rows_of(export(client, "vouchers.reward", RewardResource, CSV), CSV))

    assert row[headers(RewardResource)["percent"]] == "12.50"
