"""Idempotency keys for state-changing POS requests (`pos-api.md`, "Basics").

How a request with `Idempotency-Key: K` runs, all in one database transaction:
1. insert the record (scope, K) -- the unique constraint is the claim (one `INSERT ... ON
   CONFLICT DO NOTHING`). A concurrent request with the same key blocks on that insert until the
   first one commits, then finds its record and replays it (or, if the first one rolled back,
   takes over the claim);
2. run the view in a savepoint; a refusal (any 4xx) rolls back the savepoint only, so the
   refusal itself is stored and replayed, while nothing it attempted is kept;
3. render the response and store its exact bytes on the record; commit.
A crash (5xx) rolls back everything, record included, so the client may simply retry.

A record found with a different request hash answers 422 `idempotency-key-reused`. When the
database cannot wait for the other transaction (lock timeout), the answer is 409
`request-in-progress`."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, OperationalError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.views import APIView

from loyalty_site.core.api.exceptions import (
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    RequestInProgress,
)
from loyalty_site.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_KEY_PATTERN = re.compile(r"^[\x20-\x7e]{1,255}$")


def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path and the parsed JSON body in canonical form (key order and
    whitespace do not matter; values do)."""
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    payload = "\n".join([request.method or "", request.path, canonical])
    return hashlib.sha256(payload.encode()).hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body),
        status=record.response_status,
        content_type=record.response_content_type,
    )
    response[REPLAY_HEADER] = "true"
    return response


def idempotency_records_purge(*, older_than_hours: int | None = None) -> int:
    """Delete records past their retention time; returns how many were deleted."""
    hours = older_than_hours if older_than_hours is not None else settings.POS_IDEMPOTENCY_TTL_HOURS
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _insert_unless_claimed(record: IdempotencyRecord) -> bool:
    """Insert the claim, or find (scope, key) taken: `INSERT ... ON CONFLICT DO NOTHING
    RETURNING id`, one statement (PostgreSQL, SQLite 3.35+) where catching an IntegrityError
    would need a savepoint around the insert, two round trips more on every POS write. Like a
    plain insert, it waits while another transaction holds an uncommitted claim of the same key,
    then inserts if that one rolled back. The ORM has no such statement: `bulk_create`'s
    `ignore_conflicts` does not say whether the row went in."""
    connection = transaction.get_connection()
    meta = IdempotencyRecord._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    # Only identifiers from the model's meta go into the text; every value is a parameter.
    sql = "INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({unique}) DO NOTHING RETURNING {pk}".format(  # noqa: S608
        table=quote(meta.db_table),
        columns=", ".join(quote(field.column) for field in fields),
        values=", ".join(["%s"] * len(fields)),
        unique=", ".join(quote(meta.get_field(name).column) for name in ("scope", "key")),
        pk=quote(meta.pk.column),
    )
    params = [field.get_db_prep_save(getattr(record, field.attname), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    record.pk = row[0]
    record._state.adding = False
    record._state.db = connection.alias
    return True


class IdempotentAPIView(APIView):
    """An APIView whose unsafe methods require an Idempotency-Key and take effect at most once.

    Subclasses implement `post()` as usual and name the caller with `idempotency_scope()`."""

    idempotent_methods = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def idempotency_scope(self, request: Request) -> str:
        terminal = getattr(request, "auth", None)
        return f"terminal:{getattr(terminal, 'pk', terminal)}"

    def dispatch(self, request, *args, **kwargs):
        # DRF's dispatch, with the handler call wrapped by the idempotency claim.
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            if request.method in self.idempotent_methods:
                response = self._idempotent_handle(request, *args, **kwargs)
            else:
                response = self._call_handler(request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- DRF's own pattern: every error becomes a response
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _call_handler(self, request, *args, **kwargs):
        if request.method.lower() in self.http_method_names:
            handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
        else:
            handler = self.http_method_not_allowed
        return handler(request, *args, **kwargs)

    def _idempotent_handle(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "")
        if not _KEY_PATTERN.match(key):
            raise IdempotencyKeyRequired()
        fingerprint = request_fingerprint(request)
        scope = self.idempotency_scope(request)
        with transaction.atomic():
            claimed = self._claim(scope, key, fingerprint, request)
            if isinstance(claimed, HttpResponse):
                return claimed
            record = claimed
            try:
                with transaction.atomic():
                    response = self._call_handler(request, *args, **kwargs)
                    if response.status_code >= 400:
                        # A refusal returned rather than raised: undo whatever it attempted.
                        transaction.set_rollback(True)
            except Exception as exc:  # noqa: BLE001
                response = self.handle_exception(exc)
            if response.status_code >= 500:
                # Not the client's fault: keep no record, so a retry runs afresh.
                transaction.set_rollback(True)
                return response
            response = self.finalize_response(request, response, *args, **kwargs)
            response.render()
            record.response_status = response.status_code
            record.response_body = response.content
            record.response_content_type = response.get("Content-Type", "application/json")
            record.save(update_fields=["response_status", "response_body", "response_content_type"])
            return response

    def _claim(self, scope, key, fingerprint, request):
        record = IdempotencyRecord(
            scope=scope,
            key=key,
            request_hash=fingerprint,
            method=request.method,
            path=request.path[:500],
            response_status=0,
            response_body=b"",
            response_content_type="",
            created_at=timezone.now(),
        )
        try:
            if _insert_unless_claimed(record):
                return record
        except OperationalError as exc:  # lock timeout while the other request runs
            raise RequestInProgress() from exc
        try:
            existing = IdempotencyRecord.objects.get(scope=scope, key=key)
        except (IdempotencyRecord.DoesNotExist, DatabaseError) as exc:
            raise RequestInProgress() from exc
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        if existing.response_status == 0:
            raise RequestInProgress()
        return _replay(existing)
