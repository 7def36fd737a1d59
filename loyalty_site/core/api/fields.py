"""Strict input for the POS API: numbers, dates and ids parse only in their plain ASCII form, and
never beyond what the database can hold, so that a till's odd input is a 400, never a 500 or a
silently different value.

DRF's own fields go through `int()`, `Decimal()` and `strptime`, which accept `"1_000"`, full-width
digits (`"１２３"`) and `"1990-1-1"`; these fields refuse them. Ids (in the body, the query and
the path) are at most `MAX_ID` (2^53 - 1, the largest integer every JSON client keeps exact)."""

from __future__ import annotations

import math
import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

MAX_ID = 2**53 - 1
_INTEGER = re.compile(r"^-?[0-9]+$", re.ASCII)
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$", re.ASCII)
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE_ONLY = re.compile(rf"^{_DATE}$", re.ASCII)
_DATETIME = re.compile(
    rf"^{_DATE}[T ][0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}}(\.[0-9]{{1,6}})?)?(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)?$", re.ASCII
)


class StrictIntegerField(serializers.IntegerField):
    """An integer given as a JSON integer or a string of ASCII digits (no `_`, no spaces, no
    other scripts' digits); a JSON number with a fraction or an exponent is refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str) and not _INTEGER.match(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(StrictIntegerField):
    """A record's id: a positive integer of at most `MAX_ID`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class StrictDecimalField(serializers.DecimalField):
    """An amount given as a JSON number or a string of ASCII digits with an optional `.`
    fraction; infinities, NaN, exponents in strings and `_` are refused."""

    def to_internal_value(self, data: Any):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("invalid")
        if isinstance(data, str) and not _DECIMAL.match(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false` only: DRF's own field also takes `"yes"`, `"1"`, `1`, `"on"`...,
    so a till sending `"false"` as text would read as a guess. Anything else is refused."""

    default_error_messages = {"invalid": _("Must be true or false (a JSON boolean).")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictDateField(serializers.DateField):
    """A date as `YYYY-MM-DD` exactly (two-digit month and day, ASCII digits)."""

    def to_internal_value(self, value: Any):
        if not isinstance(value, str) or not _DATE_ONLY.match(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class StrictDateTimeField(serializers.DateTimeField):
    """A moment as ISO 8601 `YYYY-MM-DDTHH:MM[:SS[.ffffff]][offset]` (ASCII digits only)."""

    def to_internal_value(self, value: Any):
        if not isinstance(value, str) or not _DATETIME.match(value):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss+07:00")
        return super().to_internal_value(value)


def path_ids_check(kwargs: dict[str, Any]) -> None:
    """Refuse (400) an id in the URL beyond `MAX_ID`, before it reaches the database."""
    errors = {
        name: [_("Ensure this value is less than or equal to %(max)d.") % {"max": MAX_ID}]
        for name, value in kwargs.items()
        if name.endswith("_id") and isinstance(value, int) and value > MAX_ID
    }
    if errors:
        raise ValidationError(errors)


class BoundedPathIds:
    """A view mixin: the URL's `<int:..._id>` arguments are checked by `path_ids_check` once the
    request is authenticated and before the handler runs (nothing is claimed or written)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        path_ids_check(kwargs)
