"""Template text: the fixed set of placeholders, their validation and rendering.

Syntax: `{member_name}` inserts a value; `{{` and `}}` are literal braces. Nothing else is
allowed inside braces: no attribute or index access (`{member.phone}`), no format spec
(`{points:>5}`), no conversion (`{x!r}`), no positional `{}`. Rendering substitutes plain
strings, so a template can never reach an object or run code.

Values are formatted for the message's language (`loyalty_site.core.formats`): integers (points)
with thousands separators (vi `1.250`, en `1,250`), amounts of money (Decimal) with their
currency (vi `50.000 đ`, en `50,000 VND`), dates as `31/12/2025` (vi) or `31 Dec 2025` (en); a datetime is shown
as its date in the member's time zone."""

from __future__ import annotations

import datetime
import decimal
import functools
import re
import string
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_site.core.formats import format_vnd, group_digits

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
    "membership_name": gettext_lazy("The paid membership plan's name"),
    "membership_ends_at": gettext_lazy("The last day of the paid membership"),
    "expiry_date": gettext_lazy("The last day the expiring points can be used"),
    "campaign_name": gettext_lazy("The campaign's name"),
    "claim_link": gettext_lazy("The link where the member claims the campaign's voucher (campaigns by claim link)"),
    "one_time_code": gettext_lazy("The one-time code the member reads out at the till"),
    "unsubscribe_link": gettext_lazy(
        "The member's one-click link to stop these messages on this channel (added at the end of marketing "
        "emails and SMS that do not show it)"
    ),
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
    "birthday": (*MEMBER_PLACEHOLDERS, *_VOUCHER, "unsubscribe_link"),
    "campaign": tuple(p for p in PLACEHOLDERS if p != "one_time_code"),
    "presence-code": (*MEMBER_PLACEHOLDERS, "one_time_code"),
    # Sent to phones that are not members yet too: only the code.
    "sign-in-code": ("one_time_code",),
    "membership-renewal": (*MEMBER_PLACEHOLDERS, "membership_name", "membership_ends_at"),
    "membership-expired": (*MEMBER_PLACEHOLDERS, "membership_name", "membership_ends_at"),
}

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FORMATTER = string.Formatter()


class PlaceholderError(ValueError):
    """The text is not valid template syntax; the message is translated, for the operator."""


@functools.lru_cache(maxsize=1024)
def _pieces(text: str) -> tuple[tuple[str, str | None], ...]:
    """`text` parsed and checked once: its (literal, placeholder name or None) pieces.
    PlaceholderError on bad syntax (not cached: its message is in the current language).
    Cached by the text itself, so an edited template is simply a new text."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        raise PlaceholderError(_("Unbalanced braces: write {{ and }} for a literal brace.")) from None
    pieces = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (not _NAME.match(name) or spec or conversion):
            raw = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise PlaceholderError(
                _("Write placeholders as {name}, without formatting, attributes or indexes: %(field)s") % {"field": raw}
            )
        pieces.append((literal, name))
    return tuple(pieces)


def placeholders_in(text: str) -> list[str]:
    """The placeholder names `text` uses, in order; PlaceholderError on bad syntax."""
    return [name for _literal, name in _pieces(text or "") if name is not None]


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
    # Points and counts are ints, grouped (the template names the unit: "{points_earned} điểm");
    # amounts of money are Decimals, written with their currency ("50.000 đ", "50,000 VND").
    if isinstance(value, decimal.Decimal):
        return format_vnd(value, language=language)
    if isinstance(value, int):
        return group_digits(value, language=language)
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value, zone).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        if language == "vi":
            return value.strftime("%d/%m/%Y")
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return str(value)


@dataclass(slots=True)
class Rendered:
    subject: str = ""
    body: str = ""
    zns_template_id: str = ""
    zns_params: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    error: str = ""


class CompiledTemplate:
    """The one renderer of message templates: a template's texts parsed once, then rendered
    for any number of members as a join of preformatted values.

    `template` is a `notifications.models.MessageTemplate` (not imported here: the models import
    this module). Placeholders without a value (None or "") are listed in `missing` and
    rendered empty; a text with bad syntax gives `error` and nothing else. Values are formatted
    in the template's language, each distinct value once per compiled template (a voucher's
    last day, a tier's name repeat from member to member): compile once per enqueue, not once
    per process, so that cache lives no longer than the batch."""

    def __init__(self, template) -> None:
        self.template = template
        self.pk = template.pk
        self.language = template.language
        self.channel = template.channel
        self.error = ""
        self.zns_template_id = template.zalo_template_id if template.channel == "zalo" else ""
        params = template.zalo_params if template.channel == "zalo" and isinstance(template.zalo_params, dict) else {}
        self._subject: tuple = ()
        self._body: tuple = ()
        self._params: dict[str, tuple] = {}
        used: list[str] = []
        try:
            self._subject = _pieces(template.subject or "")
            self._body = _pieces(template.body or "")
            self._params = {name: _pieces(value or "") for name, value in params.items()}
        except PlaceholderError as exc:
            self.error = str(exc)
        for pieces in (self._subject, self._body, *self._params.values()):
            used += [name for _literal, name in pieces if name is not None]
        self.used = list(dict.fromkeys(used))
        self._formatted: dict[tuple, str] = {}

    def _format(self, value: object, zone: zoneinfo.ZoneInfo) -> str:
        if isinstance(value, str):
            return value
        key = (type(value), value, zone)
        text = self._formatted.get(key)
        if text is None:
            text = self._formatted[key] = format_value(value, language=self.language, zone=zone)
        return text

    def render(self, values: Mapping[str, object], zone: zoneinfo.ZoneInfo) -> Rendered:
        if self.error:
            return Rendered(error=self.error)
        # Called for every message of a campaign: plain loops, no helpers.
        missing = []
        formatted = {}
        for name in self.used:
            value = values.get(name)
            if value is None or value == "":
                missing.append(name)
            formatted[name] = value if type(value) is str else self._format(value, zone)
        return Rendered(
            subject="".join(
                [literal if name is None else literal + formatted[name] for literal, name in self._subject]
            )[:200],
            body="".join([literal if name is None else literal + formatted[name] for literal, name in self._body]),
            zns_template_id=self.zns_template_id,
            zns_params={
                key: "".join([literal if name is None else literal + formatted[name] for literal, name in pieces])
                for key, pieces in self._params.items()
            },
            missing=missing,
        )
