"""Writing many rows without building model instances: COPY on PostgreSQL, one executemany
elsewhere. For the set-based services (a campaign run, the daily tier evaluation) that write
tens of thousands of rows at once, where `bulk_create` spends more time preparing instances in
Python than the database spends storing them.

Rows are plain dicts {attname: value}; the model's defaults fill the columns a row does not
give. Constraints and triggers apply as for any insert: the caller validates the values (the
services that use it validate one row of a batch whose rows all have the same shape)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable

from django.db import connection, models


def _row_defaults(model: type[models.Model], now: datetime.datetime) -> list[tuple[models.Field, object]]:
    """Each concrete field but the automatic primary key, with the value it gets when a row does
    not give one (its default; `now` for auto_now / auto_now_add)."""
    columns = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key and isinstance(model_field, models.AutoField):
            continue
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            default = now
        else:
            default = model_field.get_default()
        columns.append((model_field, default))
    return columns


def rows_insert(model: type[models.Model], rows: Iterable[dict], *, now: datetime.datetime) -> int:
    """Insert rows given as {attname: value} (the model's defaults fill the rest) in the current
    transaction: COPY on PostgreSQL, one executemany elsewhere. Returns the number of rows."""
    columns = _row_defaults(model, now)
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f, _default in columns)
    table = quote(model._meta.db_table)
    count = 0
    # The raw driver cursor's errors (COPY) become Django's (IntegrityError...), as any query's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            plan = [(f.attname, default) for f, default in columns]
            moments = [i for i, (f, _d) in enumerate(columns) if isinstance(f, models.DateTimeField)]
            documents = [i for i, (f, _d) in enumerate(columns) if isinstance(f, models.JSONField)]
            # The same few times (now, an expiry) recur on every row: turned into COPY text once.
            as_text: dict[datetime.datetime, str] = {}
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    values = [row.get(attname, default) for attname, default in plan]
                    for i in moments:
                        moment = values[i]
                        if moment is not None:
                            text = as_text.get(moment)
                            if text is None:
                                text = as_text[moment] = moment.isoformat()
                            values[i] = text
                    for i in documents:
                        document = values[i]
                        if document is not None:
                            values[i] = "{}" if document == {} else json.dumps(document)
                    copy.write_row(values)
                    count += 1
        else:
            prepared = [
                [f.get_db_prep_save(row.get(f.attname, default), connection) for f, default in columns] for row in rows
            ]
            if prepared:
                placeholders = ", ".join(["%s"] * len(columns))
                sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608 -- names quoted
                cursor.executemany(sql, prepared)
            count = len(prepared)
    return count


__all__ = ["rows_insert"]
