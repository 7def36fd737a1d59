"""The project's error types. Services raise these; the API renders them as problem+json
(`loyalty_site.core.api.exceptions`), the admin shows their message, commands print it.

Each type carries a stable `code` (the last segment of the problem `type` URI), the HTTP status
the API answers with, and a translatable title. Apps subclass them for their own cases, e.g.
`class InsufficientPoints(ConflictError): code = "insufficient-points"`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "domain-error"
    status = 400
    title = _("The request cannot be carried out.")

    def __init__(
        self,
        detail: Any = None,
        *,
        errors: dict[str, list[Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail if detail is not None else self.title
        self.errors = errors or {}
        self.extra = extra or {}
        super().__init__(str(self.detail))


class ValidationFailed(DomainError):
    code = "validation-error"
    status = 400
    title = _("The input is not valid.")


class NotFoundError(DomainError):
    code = "not-found"
    status = 404
    title = _("Not found.")


class ConflictError(DomainError):
    code = "conflict"
    status = 409
    title = _("The request conflicts with the current state.")


class UnprocessableError(DomainError):
    code = "unprocessable"
    status = 422
    title = _("The request cannot be processed.")
