"""Writes of the import / export plumbing: the export audit trail."""

from __future__ import annotations

from django.db.models import Model

from loyalty_site.core.models import ExportRecord

FILTERS_MAX = ExportRecord._meta.get_field("filters").max_length


def export_record(
    *, user, model: type[Model], file_format: str, rows: int, filters: str = "", username: str = ""
) -> ExportRecord:
    """Record that `user` exported `rows` rows of `model`'s list as `file_format`. Without a
    user (a command run on the server), `username` says who or what did."""
    record = ExportRecord(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "get_username", lambda: "")() or username,
        model=model._meta.label_lower,
        file_format=file_format,
        rows=rows,
        filters=filters[:FILTERS_MAX],
    )
    record.full_clean()
    record.save(force_insert=True)
    return record
