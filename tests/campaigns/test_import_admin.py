"""The import in the admin: upload -> preview -> confirm, the background path with its
progress, the error report, the template, and who may do it."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from campaigns.audiences.imports.models import MemberImport
from campaigns.audiences.imports.services import member_import_check, member_import_create, member_import_run
from campaigns.audiences.services import group_create
from members.models import Member
from tests.campaigns.test_import_support import counts, english, media, workbook_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
__all__ = ["english", "media"]

UPLOAD = reverse("admin:campaigns_memberimport_upload")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def staff(*codenames: str) -> User:
    user = User.objects.create_user("manager", password="x", is_staff=True)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def manager_client(client, media):
    client.force_login(staff("members.import_members", "members.view_member"))
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})  # messages made in requests
    return client


def upload(client, content: bytes, **data):
    file = SimpleUploadedFile("khach-hang.xlsx", content, content_type=XLSX)
    return client.post(UPLOAD, {"file": file, **data})


def detail_url(record: MemberImport) -> str:
    return reverse("admin:campaigns_memberimport_change", args=[record.pk])


def test_upload_preview_confirm(manager_client):
    content = workbook_bytes([["Họ và tên", "Số điện thoại"], ["An", "0912000201"], ["Bình", "0912000202"]])

    response = upload(manager_client, content)

    record = MemberImport.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(record)
    assert (record.status, record.rows_new, record.created_by.username) == ("checked", 2, "manager")
    assert Member.objects.count() == 0  # the preview writes nothing
    page = manager_client.get(detail_url(record)).content.decode()
    assert "0912000201" in page
    assert reverse("admin:campaigns_memberimport_confirm", args=[record.pk]) in page

    response = manager_client.post(reverse("admin:campaigns_memberimport_confirm", args=[record.pk]))

    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.rows_new, record.confirmed_by.username) == ("imported", 2, "manager")
    assert Member.objects.count() == 2
    # Confirming twice imports nothing more.
    manager_client.post(reverse("admin:campaigns_memberimport_confirm", args=[record.pk]))
    assert Member.objects.count() == 2


def test_a_file_with_errors_cannot_be_confirmed_unless_invalid_rows_are_skipped(manager_client):
    content = workbook_bytes([["Họ tên", "SĐT"], ["An", "0912000211"], ["Bình", "abc"]])
    upload(manager_client, content)
    record = MemberImport.objects.get()
    assert (record.status, record.rows_errors) == ("checked", 1)
    before = counts()

    manager_client.post(reverse("admin:campaigns_memberimport_confirm", args=[record.pk]))

    record.refresh_from_db()
    assert record.status == "checked"
    assert counts() == before

    report = manager_client.get(reverse("admin:campaigns_memberimport_report", args=[record.pk]))
    assert report.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == (3, "SĐT (B)", "abc")

    manager_client.post(reverse("admin:campaigns_memberimport_confirm", args=[record.pk]), {"skip_invalid": "on"})

    record.refresh_from_db()
    assert (record.status, record.rows_new, record.rows_errors, record.skip_invalid) == ("imported", 1, 1, True)
    assert list(Member.objects.values_list("phone", flat=True)) == ["+84912000211"]


def test_a_refused_file_is_recorded_and_explained_never_a_traceback(manager_client):
    response = upload(manager_client, b"Ho ten;SDT\nAn;0912\n")

    record = MemberImport.objects.get()
    assert record.status == "refused" and "not an Excel workbook" in record.message
    assert response.status_code == 302
    assert manager_client.get(detail_url(record)).status_code == 200
    assert Member.objects.count() == 0


@override_settings(MEMBER_IMPORT_BACKGROUND_ROWS=2)
def test_big_files_are_checked_and_imported_in_the_background(manager_client, django_capture_on_commit_callbacks):
    rows = [["Họ tên", "SĐT"]] + [[f"Khách {i}", f"09120003{i:02d}"] for i in range(5)]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upload(manager_client, workbook_bytes(rows))
    record = MemberImport.objects.get()
    assert record.status == "checking" and any("member_import" in c.__qualname__ for c in callbacks)
    page = manager_client.get(detail_url(record)).content.decode()
    assert 'http-equiv="refresh"' in page and "<progress" in page

    for callback in callbacks:  # the worker picks the task up (eager in tests)
        callback()
    record.refresh_from_db()
    assert (record.status, record.rows_new, record.progress) == ("checked", 5, 100)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        manager_client.post(reverse("admin:campaigns_memberimport_confirm", args=[record.pk]))
    assert any("member_import_run" in c.__qualname__ for c in callbacks)
    record.refresh_from_db()
    assert (record.status, record.progress) == ("imported", 100)
    assert Member.objects.count() == 5


def test_the_tasks_report_progress_and_run_once(media):
    content = workbook_bytes([["Họ tên", "SĐT"]] + [[f"K {i}", f"09120004{i:02d}"] for i in range(3)])
    record = member_import_create(upload=io.BytesIO(content), file_name="a.xlsx")
    checked = member_import_check(member_import_id=record.pk)
    assert checked.status == "checked" and checked.progress == 100
    assert member_import_check(member_import_id=record.pk) is None  # a second delivery does nothing
    MemberImport.objects.filter(pk=record.pk).update(status="queued")

    done = member_import_run(member_import_id=record.pk)

    assert done.status == "imported" and Member.objects.count() == 3
    assert member_import_run(member_import_id=record.pk) is None
    assert Member.objects.count() == 3


def test_the_template_has_vietnamese_headers_and_imports_as_it_is(manager_client):
    response = manager_client.get(reverse("admin:campaigns_memberimport_template"))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    headers = [cell.value for cell in book.active[1]]
    assert headers[:6] == ["Họ và tên", "Số điện thoại", "Ngày sinh", "Email", "Giới tính", "Mã thẻ"]
    book.active.append(["Hà", "0912000501", None, None, "Nữ", None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)

    upload(manager_client, buffer.getvalue())

    record = MemberImport.objects.get()
    assert (record.status, record.rows_total, record.rows_new) == ("checked", 1, 1)


def test_the_group_option_needs_the_group_permission(client, media):
    group = group_create(name="Khách VIP cũ")
    user = staff("members.import_members", "campaigns.change_customergroup")
    client.force_login(user)
    content = workbook_bytes([["Họ tên", "SĐT"], ["An", "0912000601"]])

    upload(client, content, group=group.pk)
    record = MemberImport.objects.get()
    client.post(reverse("admin:campaigns_memberimport_confirm", args=[record.pk]))

    assert list(group.members.values_list("phone", flat=True)) == ["+84912000601"]


@pytest.mark.parametrize("perms", [(), ("campaigns.view_memberimport",)])
def test_without_the_import_permission_every_import_page_is_refused(client, media, perms):
    client.force_login(staff(*perms))
    content = workbook_bytes([["SĐT"], ["0912000701"]])
    record = member_import_create(upload=io.BytesIO(content), file_name="a.xlsx")
    member_import_check(member_import_id=record.pk)

    assert upload(client, content).status_code == 403
    assert client.get(UPLOAD).status_code == 403
    assert client.get(reverse("admin:campaigns_memberimport_template")).status_code == 403
    assert client.post(reverse("admin:campaigns_memberimport_confirm", args=[record.pk])).status_code == 403
    assert MemberImport.objects.count() == 1 and Member.objects.count() == 0


def test_the_store_manager_role_may_import(client, media):
    from django.contrib.auth.models import Group

    from backoffice.roles import STORE_MANAGER, roles_sync

    roles_sync(Group, Permission)
    user = User.objects.create_user("store", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=STORE_MANAGER))
    client.force_login(user)

    assert client.get(UPLOAD).status_code == 200
    assert client.get(reverse("admin:campaigns_memberimport_changelist")).status_code == 200
    assert client.get(reverse("admin:campaigns_memberimport_export")).status_code == 200
