"""The member export: xlsx and csv, formula injection neutralised, group filter, permissions."""

from __future__ import annotations

import csv
import datetime
import io

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse

from campaigns.audiences.exports.admin_actions import export_members_action
from campaigns.audiences.exports.members import csv_stream, xlsx_write
from campaigns.audiences.services import group_add_members, group_create
from loyalty_site.core.importexport.escape import neutralise
from members.models import Member
from tests.campaigns.test_import_support import english
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
__all__ = ["english"]

# Names as member_enrol keeps them (it collapses whitespace, so tab / CR are tested on the writers).
DANGEROUS = ['=HYPERLINK("http://x")', "+SUM(A1)", "-2+3", "@cmd"]


def staff(*codenames: str) -> User:
    user = User.objects.create_user("exporter", password="x", is_staff=True)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def members():
    made = [
        MemberFactory(name=name, phone=f"+8491200080{i}", email=f"x{i}@example.vn", points=10 * (i + 1))
        for i, name in enumerate(DANGEROUS)
    ]
    made.append(
        MemberFactory(name="Nguyễn Văn Bình", phone="+84912000899", birthday=datetime.date(1990, 3, 15), gender="male")
    )
    return made


def test_neutralise_prefixes_every_dangerous_start_and_leaves_numbers_alone(tmp_path):
    values = [*DANGEROUS, "\tTAB", "\rCR"]
    assert [neutralise(v) for v in values] == ["'" + v for v in values]
    assert neutralise("Nguyễn") == "Nguyễn"
    assert neutralise(-5) == -5

    xlsx_write([values, [-5, "ok"]], str(tmp_path / "w.xlsx"))
    written = list(openpyxl.load_workbook(tmp_path / "w.xlsx").active.iter_rows(values_only=True))
    # (XML reads a carriage return back as a line feed: compare what follows the quote loosely.)
    assert [v.replace("\n", "\r") for v in written[0]] == ["'" + v for v in values]
    assert list(written[1][:2]) == [-5, "ok"]
    text = b"".join(csv_stream([values])).decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text, newline=""))) == ["'" + v for v in values]


def test_xlsx_export_command(members, tmp_path):
    path = tmp_path / "members.xlsx"

    call_command("export_members", str(path))

    book = openpyxl.load_workbook(path)
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 1 + len(members)
    header = rows[0]
    by_phone = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    name_col = header[2]
    for i, dangerous in enumerate(DANGEROUS):
        assert by_phone[f"091200080{i}"][name_col] == "'" + dangerous
    binh = by_phone["0912000899"]
    assert binh[header[4]] == datetime.datetime(1990, 3, 15)
    assert binh[header[7]] == 0
    assert by_phone["0912000801"][header[7]] == 20
    # No cell of the workbook is a formula.
    assert all(cell.data_type != "f" for row in book.active.iter_rows() for cell in row)


def test_csv_export_command_and_group_filter(members, tmp_path):
    group = group_create(name="Nhóm thử")
    group_add_members(group=group, source="admin", members=members[:2])
    path = tmp_path / "members.csv"

    call_command("export_members", str(path), "--group", "Nhóm thử")

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 3
    names = {row[2] for row in rows[1:]}
    assert names == {"'" + DANGEROUS[0], "'" + DANGEROUS[1]}

    with pytest.raises(CommandError):
        call_command("export_members", str(tmp_path / "x.csv"), "--group", "No such group")
    with pytest.raises(CommandError):
        call_command("export_members", str(tmp_path / "x.pdf"))


def test_command_as_a_user_needs_the_permission(members, tmp_path):
    staff()
    with pytest.raises(CommandError) as refused:
        call_command("export_members", str(tmp_path / "m.csv"), "--user", "exporter")
    assert "may not export" in str(refused.value)
    assert not (tmp_path / "m.csv").exists()


def test_export_page_streams_csv_and_xlsx_for_users_with_the_permission(client, members):
    client.force_login(staff("members.export_members"))
    url = reverse("admin:campaigns_memberimport_export")

    response = client.post(url, {"format": "csv"})
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "0912000899" in text

    response = client.post(url, {"format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.active.max_row == 1 + len(members)


def test_export_page_is_refused_without_the_permission(client, members):
    client.force_login(staff("members.view_member", "members.import_members"))
    url = reverse("admin:campaigns_memberimport_export")
    assert client.get(url).status_code == 403
    assert client.post(url, {"format": "csv"}).status_code == 403


def test_the_admin_action_exports_the_selection_only_with_the_permission(members):
    member_admin = admin.site._registry[Member]
    request = RequestFactory().post("/admin/members/member/")
    request.session = {}
    request._messages = _Messages()
    selection = Member.objects.filter(pk__in=[members[0].pk, members[-1].pk])

    request.user = staff("members.view_member")
    assert export_members_action(member_admin, request, selection) is None
    assert request._messages.stored

    request.user.user_permissions.add(Permission.objects.get(codename="export_members"))
    request.user = User.objects.get(pk=request.user.pk)
    response = export_members_action(member_admin, request, selection)
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.active.max_row == 3


def test_the_member_list_hides_the_action_from_users_without_the_permission(members):
    model_admin = admin.site._registry[Member]
    request = RequestFactory().get("/")

    request.user = staff("members.view_member")
    assert "export_members_action" not in model_admin.get_actions(request)
    request.user.user_permissions.add(Permission.objects.get(codename="export_members"))
    request.user = User.objects.get(pk=request.user.pk)
    assert "export_members_action" in model_admin.get_actions(request)
    assert [a for a in model_admin.actions if a is export_members_action] == [export_members_action]


class _Messages:
    def __init__(self):
        self.stored = []

    def add(self, level, message, extra_tags=""):
        self.stored.append(message)
