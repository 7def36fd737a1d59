"""The project's error types. Services raise these; the API renders them as problem+json
(`loyalty_site.core.api.exceptions`), the admin shows their message, commands print it.

Each type carries a stable `code` (the last segment of the problem `type` URI), the HTTP status
the API answers with, and a translatable title. Apps subclass them for their own cases, e.g.
`class InsufficientPoints(ConflictError): code = "insufficient-points"`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.db.models import Model


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
        headers: dict[str, str] | None = None,
        kept_writes: list[Callable[[], object]] | None = None,
    ) -> None:
        self.detail = detail if detail is not None else self.title
        self.errors = errors or {}
        self.extra = extra or {}
        self.headers = headers or {}
        # Writes the refusal itself makes and that must outlive the rollback of what was refused
        # (e.g. counting a wrong one-time code). Whoever ends the refusal applies them, once,
        # after the refused work was rolled back: the API's exception handler does.
        self.kept_writes = list(kept_writes or [])
        super().__init__(str(self.detail))

    def apply_kept_writes(self) -> None:
        """Run the refusal's kept writes (once), in the caller's transaction or one of their own."""
        from django.db import transaction

        writes, self.kept_writes = self.kept_writes, []
        if writes:
            with transaction.atomic():
                for write in writes:
                    write()


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


# --- From Django's model validation to a refusal ---------------------------------------------


def refusal_errors(exc: ValidationError) -> dict[str, list[str]]:
    """The messages of a `ValidationError`, per field; those that name no field under
    `NON_FIELD_ERRORS` ("__all__"), as `full_clean()` itself files them."""
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return {NON_FIELD_ERRORS: [str(m) for m in exc.messages]}


def refusal_from(exc: ValidationError) -> ValidationFailed:
    """The `ValidationFailed` a service raises for what Django's validation found."""
    return ValidationFailed(errors=refusal_errors(exc))


def clean_or_refuse(instance: Model, **full_clean_options: Any) -> None:
    """`instance.full_clean(**full_clean_options)`, refusing with `ValidationFailed` (errors per
    field) instead of Django's `ValidationError`: the first step of a service that saves a row."""
    try:
        instance.full_clean(**full_clean_options)
    except ValidationError as exc:
        raise refusal_from(exc) from exc
