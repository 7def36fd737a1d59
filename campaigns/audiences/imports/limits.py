"""The import's limits, each overridable in settings (a deployment with bigger lists raises
them there). Read at call time so tests can change them with `override_settings`."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # The upload itself (Django has no maximum-file-size setting).
    "MEMBER_IMPORT_MAX_UPLOAD_BYTES": 25 * 1024 * 1024,
    # Every ZIP member unpacked, added up: a 100,000-row list is ~40 MB of XML.
    "MEMBER_IMPORT_MAX_UNPACKED_BYTES": 400 * 1024 * 1024,
    # Unpacked / packed size of one ZIP member; real sheets compress 5-20 times, bombs 1000+.
    "MEMBER_IMPORT_MAX_COMPRESSION_RATIO": 100,
    # Data rows (blank lines are not counted).
    "MEMBER_IMPORT_MAX_ROWS": 200_000,
    # Above this many rows, the admin checks and imports in the background (Celery).
    "MEMBER_IMPORT_BACKGROUND_ROWS": 10_000,
    # Rows per database round trip.
    "MEMBER_IMPORT_CHUNK_ROWS": 5_000,
    # Days an uploaded list (customers' phones, names, birthdays) and its error report are kept;
    # then a scheduled job deletes the files and keeps the record (who, when, counts).
    "MEMBER_IMPORT_FILE_RETENTION_DAYS": 30,
}


def limit(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))
