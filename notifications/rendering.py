"""Template text: the fixed set of placeholders, their validation and rendering.

Syntax: `{member_name}` inserts a value; `{{` and `}}` are literal braces. Nothing else is
allowed inside braces: no attribute or index access (`{member.phone}`), no format spec
(`{points:>5}`), no conversion (`{x!r}`), no positional `{}`. Rendering substitutes plain
strings, so a template can never reach an object or run code.

Values are formatted for the message's language: integers with thousands separators
(vi `1.250`, en `1,250`), dates as `31/12/2025` (vi) or `31 Dec 2025` (en); a datetime is shown
as its date in the member's time zone."""

from __future__ import annotations

import datetime
import decimal
import re
import string
import zoneinfo
from collections.abc import Iterable, Mapping

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Every placeholder any template may use, with what it means (shown in the admin).
PLACEHOLDERS: dict[str, str] = {
    "member_name": gettext_lazy("The member's name"),
    "points_balance": gettext_lazy("The member's points balance"),
    "store_name": gettext_lazy("The store: the sale's if given, else the member's home store"),
    "points_earned": gettext_lazy("Points earned"),
    "tier_name": gettext_lazy("The tier's name"),
    "voucher_code": gettext_lazy("The voucher's code"),
    "voucher_name": gettext_lazy("The voucher's name"),
    "voucher_expires_at": gettext_lazy("The voucher's last valid day"),
    "expiring_points": gettext_lazy("Points about to expire"),
    "expiry_date": gettext_lazy("The last day the expiring points can be used"),
    "campaign_name": gettext_lazy("The campaign's name"),
}
# Filled from the member when the caller does not pass them.
MEMBER_PLACEHOLDERS = ("member_name", "points_balance", "store_name")
_VOUCHER = ("voucher_code", "voucher_name", "voucher_expires_at")
# Which placeholders each event's templates may use (event codes of `notifications.models.Event`).
EVENT_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "points-earned": (*MEMBER_PLACEHOLDERS, "points_earned", "tier_name"),
    "tier-changed": (*MEMBER_PLACEHOLDERS, "tier_name"),
    "voucher-issued": (*MEMBER_PLACEHOLDERS, *_VOUCHER),
    "points-expiring": (*MEMBER_PLACEHOLDERS, "expiring_points", "expiry_date"),
    "birthday": (*MEMBER_PLACEHOLDERS, *_VOUCHER),
    "campaign": tuple(PLACEHOLDERS),
}

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FORMATTER = string.Formatter()


class PlaceholderError(ValueError):
    """The text is not valid template syntax; the message is translated, for the operator."""


def placeholders_in(text: str) -> list[str]:
    """The placeholder names `text` uses, in order; PlaceholderError on bad syntax."""
    try:
        parsed = list(_FORMATTER.parse(text or ""))
    except ValueError:
        raise PlaceholderError(_("Unbalanced braces: write {{ and }} for a literal brace.")) from None
    names = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not _NAME.match(field) or spec or conversion:
            raw = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise PlaceholderError(
                _("Write placeholders as {name}, without formatting, attributes or indexes: %(field)s") % {"field": raw}
            )
        names.append(field)
    return names


def _check_placeholders(text: str, event: str) -> list[str]:
    try:
        names = placeholders_in(text)
    except PlaceholderError as exc:
        return [str(exc)]
    available = EVENT_PLACEHOLDERS.get(event, ())
    shown = ", ".join("{" + name + "}" for name in available)
    errors = []
    for name in dict.fromkeys(names):
        if name not in PLACEHOLDERS:
            errors.append(
                _("Unknown placeholder {%(name)s}. Available for this event: %(available)s.")
                % {"name": name, "available": shown}
            )
        elif name not in available:
            errors.append(
                _("The placeholder {%(name)s} is not available for this event. Available: %(available)s.")
                % {"name": name, "available": shown}
            )
    return errors


def template_errors(
    *,
    event: str,
    channel: str,
    subject: str,
    body: str,
    zalo_template_id: str,
    zalo_params: object,
) -> dict[str, list[str]]:
    """What is wrong with a template, per field (empty when it is valid)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, messages: Iterable[str]) -> None:
        messages = list(messages)
        if messages:
            errors.setdefault(field, []).extend(messages)

    add("subject", _check_placeholders(subject, event))
    add("body", _check_placeholders(body, event))
    if channel == "email" and not (subject or "").strip():
        add("subject", [_("An email needs a subject.")])
    if channel in ("email", "sms", "push") and not (body or "").strip():
        add("body", [_("This channel needs a text.")])
    if channel == "zalo":
        if not (zalo_template_id or "").strip():
            add("zalo_template_id", [_("A Zalo template needs the id of the template approved by Zalo.")])
        if not isinstance(zalo_params, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in zalo_params.items()
        ):
            add("zalo_params", [_("The Zalo parameters must map each parameter name to a text.")])
        elif not zalo_params:
            add("zalo_params", [_("A Zalo template needs its parameters.")])
        else:
            for value in zalo_params.values():
                add("zalo_params", _check_placeholders(value, event))
    elif zalo_params and not isinstance(zalo_params, dict):
        add("zalo_params", [_("The Zalo parameters must map each parameter name to a text.")])
    return errors


def format_value(value: object, *, language: str, zone: zoneinfo.ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int):
        grouped = f"{value:,}"
        return grouped.replace(",", ".") if language == "vi" else grouped
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value, zone).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        if language == "vi":
            return value.strftime("%d/%m/%Y")
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return str(value)


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with each placeholder replaced by its (already formatted) value. The caller has
    checked that every placeholder used has a value (`placeholders_in`)."""
    out = []
    for literal, field, _spec, _conversion in _FORMATTER.parse(text or ""):
        out.append(literal)
        if field is not None:
            out.append(values[field])
    return "".join(out)
