"""Helpers of the import / export tests: staff with chosen permissions, the admin's export and
import steps as a browser posts them, and the files read back."""

from __future__ import annotations

import csv
import io

import openpyxl
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import translation

XLSX, CSV = "0", "1"  # positions in settings.IMPORT_EXPORT_FORMATS


def staff_client(*codenames: str, username: str = "staff") -> tuple[Client, User]:
    """A logged-in staff user holding exactly `codenames` ("app.codename")."""
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    client = Client()
    client.force_login(user)
    return client, user


def export_post_data(resource_class, fmt: str) -> dict[str, str]:
    data = {"format": fmt, "resource": "0"}
    for name in resource_class().get_export_order():
        data[f"{resource_class.__name__.lower()}_{name}"] = "on"
    return data


def export(client: Client, model_label: str, resource_class, fmt: str = XLSX, query: str = ""):
    url = reverse(f"admin:{model_label.replace('.', '_')}_export") + query
    return client.post(url, export_post_data(resource_class, fmt))


def rows_of(response, fmt: str = XLSX) -> list[list]:
    """The exported file's rows (header first)."""
    if fmt == XLSX:
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        return [list(row) for row in book.active.iter_rows(values_only=True)]
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def as_dicts(rows: list[list]) -> list[dict]:
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def headers(resource_class, language: str = "vi") -> dict[str, str]:
    """Field name -> header, in `language` (the console's default is Vietnamese)."""
    with translation.override(language):
        return {name: str(field.column_name) for name, field in resource_class().fields.items()}


def xlsx_bytes(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def import_preview(client: Client, model_label: str, content: bytes, name: str = "config.xlsx", fmt: str = XLSX):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse(f"admin:{model_label.replace('.', '_')}_import")
    upload = SimpleUploadedFile(name, content)
    return client.post(url, {"format": fmt, "resource": "0", "import_file": upload})


def import_confirm(client: Client, model_label: str, preview_response):
    form = preview_response.context["confirm_form"]
    url = reverse(f"admin:{model_label.replace('.', '_')}_process_import")
    return client.post(url, {name: form.initial[name] for name in form.fields})
