"""Every API error as `application/problem+json` (RFC 9457), in the request's language.

`type` is `/problems/<code>`, where the codes are those of `pos-api.md`; validation errors carry
`errors: {field: [message, ...]}`."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf
from rest_framework.response import Response

from loyalty_site.core.api.auth_failures import auth_failure_record
from loyalty_site.core.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# A database that cannot be reached (connection refused, timed out, dropped): 503, not 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5
PROBLEM_TYPE_PREFIX = "/problems/"


class ApiProblem(DomainError):
    """A problem that belongs to the API plumbing rather than to a service."""


class IdempotencyKeyRequired(ApiProblem):
    code = "idempotency-key-required"
    status = 400
    title = _("An Idempotency-Key header (1 to 255 printable characters) is required.")


class IdempotencyKeyReused(ApiProblem):
    code = "idempotency-key-reused"
    status = 422
    title = _("This Idempotency-Key was already used with a different request.")


class RequestInProgress(ApiProblem):
    code = "request-in-progress"
    status = 409
    title = _("A request with this Idempotency-Key is still being processed.")


class PayloadTooLarge(ApiProblem):
    code = "payload-too-large"
    status = 413
    title = _("The request body is too large.")


_DRF_CODES: list[tuple[type[Exception], str, Any]] = [
    (drf.NotAuthenticated, "not-authenticated", _("Authentication credentials were not provided.")),
    (drf.AuthenticationFailed, "not-authenticated", _("The API key is not valid.")),
    (drf.PermissionDenied, "permission-denied", _("You do not have permission to do this.")),
    (drf.Throttled, "throttled", _("Too many requests.")),
    (drf.NotFound, "not-found", _("Not found.")),
    (drf.MethodNotAllowed, "method-not-allowed", _("Method not allowed.")),
    (drf.NotAcceptable, "not-acceptable", _("The requested response format is not available.")),
    (drf.UnsupportedMediaType, "unsupported-media-type", _("Send the request body as JSON.")),
    (drf.ParseError, "validation-error", _("The request body is not valid JSON.")),
    (drf.ValidationError, "validation-error", _("The input is not valid.")),
]


def problem_response(
    *,
    code: str,
    status: int,
    title: Any,
    detail: Any = None,
    errors: dict | None = None,
    extra: dict | None = None,
    headers: dict | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": str(title),
        "status": status,
        "detail": str(detail if detail is not None else title),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _field_errors(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": ["message"]}; nested paths use dots
    (`lines.0.quantity`), errors on the whole body go under `non_field_errors`."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if key == "non_field_errors" and prefix:
                    walk(prefix, sub)  # a list field's own error belongs to the field
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "non_field_errors", []).extend(str(v).strip() for v in value)
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        else:
            flat.setdefault(prefix or "non_field_errors", []).append(str(value).strip())

    walk("", detail)
    return flat


def problem_exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, DomainError):
        # The refused work is rolled back by now (the idempotency layer's savepoint, or the
        # service's own transaction): what the refusal must keep is written here.
        exc.apply_kept_writes()
        return problem_response(
            code=exc.code,
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            extra=exc.extra,
            headers=exc.headers or None,
        )
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return problem_response(code="validation-error", status=400, title=_("The input is not valid."), errors=errors)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()

    if isinstance(exc, drf.APIException):
        code, title = next(
            ((c, t) for exc_type, c, t in _DRF_CODES if isinstance(exc, exc_type)),
            ("error", _("The request cannot be carried out.")),
        )
        headers: dict[str, str] = {}
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed) and context.get("request") is not None:
            auth_failure_record(context["request"], reason=type(exc).__name__)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            headers["WWW-Authenticate"] = "Api-Key"
        if isinstance(exc, drf.ValidationError):
            return problem_response(code=code, status=exc.status_code, title=title, errors=_field_errors(exc.detail))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if isinstance(exc, drf.Throttled):
            detail = title
        return problem_response(code=code, status=exc.status_code, title=title, detail=detail, headers=headers)

    if isinstance(exc, DATABASE_UNAVAILABLE):
        # The database cannot be reached: nothing was recorded (the transaction never committed).
        logger.error("Database unavailable in API view: %s", exc)
        return problem_response(
            code="service-unavailable",
            status=503,
            title=_("The service is temporarily unavailable. Nothing was recorded; try again shortly."),
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    # Anything else is a bug: log it with its traceback, show the client no internals.
    logger.exception("Unhandled error in API view", exc_info=exc)
    return problem_response(
        code="internal-error",
        status=500,
        title=_("An unexpected error occurred. It has been logged."),
    )
