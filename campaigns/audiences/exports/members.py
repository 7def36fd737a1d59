"""What a member export holds and how it is written.

Why not django-import-export's `Resource.export()`: it builds the whole list as one tablib
Dataset in memory before writing a byte; an export of every member must not. The columns are
read with `values_list` in chunks of CHUNK members (one query for the members, one for their
active cards), and written row by row."""

from __future__ import annotations

import codecs
import csv
import datetime
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from campaigns.audiences.models import CustomerGroup
from campaigns.audiences.selectors import group_members
from loyalty_site.core.errors import NotFoundError
from loyalty_site.core.importexport.escape import neutralise_row
from members.models import Card, Member
from members.phones import phone_national
from tiers.models import Tier

CHUNK = 2000
FORMATS = ("xlsx", "csv")


def export_headers() -> list[str]:
    return [
        _("Phone number"),
        _("Member code"),
        _("Full name"),
        _("Email"),
        _("Birthday"),
        _("Gender"),
        _("Tier"),
        _("Points balance"),
        _("Enrolled at"),
        _("Home store"),
        _("Enrolment channel"),
        _("Status"),
        _("Card numbers"),
    ]


def members_export_queryset(*, group_name: str = "") -> QuerySet[Member]:
    """Every member record that stands for a person (merged records are left out), or those of
    one static group. NotFoundError when no group has that name."""
    members = Member.objects.all()
    if group_name:
        group = CustomerGroup.objects.filter(name=" ".join(group_name.split())).first()
        if group is None:
            raise NotFoundError(_("No customer group is named %(name)s.") % {"name": group_name})
        members = group_members(group=group, active_only=False)
    return members.exclude(status=Member.Status.MERGED)


_FIELDS = (
    "pk",
    "phone",
    "code",
    "name",
    "email",
    "birthday",
    "gender",
    "tier_status__tier_id",
    "points_balance",
    "enrolled_at",
    "home_store__name",
    "enrolment_channel",
    "status",
)


def export_rows(queryset: QuerySet[Member]) -> Iterator[list[Any]]:
    """The header row, then one row per member (ordered by id), read in chunks."""
    yield export_headers()
    tiers = {tier.pk: tier for tier in Tier.objects.all()}
    entry = min(tiers.values(), key=lambda tier: tier.rank) if tiers else None
    genders = dict(Member.Gender.choices)
    channels = dict(Member.Channel.choices)
    statuses = dict(Member.Status.choices)
    zone = timezone.get_current_timezone()
    last_pk = 0
    base = queryset.order_by("pk")
    while True:
        chunk = list(base.filter(pk__gt=last_pk).values_list(*_FIELDS)[:CHUNK])
        if not chunk:
            return
        last_pk = chunk[-1][0]
        cards: dict[int, list[str]] = {}
        for member_id, number in (
            Card.objects.filter(member_id__in=[row[0] for row in chunk], is_active=True)
            .order_by("issued_at", "pk")
            .values_list("member_id", "number")
        ):
            cards.setdefault(member_id, []).append(number)
        for (
            pk,
            phone,
            code,
            name,
            email,
            birthday,
            gender,
            tier_id,
            balance,
            enrolled_at,
            store,
            channel,
            status,
        ) in chunk:
            tier = tiers.get(tier_id, entry)
            yield [
                phone_national(phone),
                code,
                name,
                email,
                birthday,
                str(genders.get(gender, "")),
                tier.display_name if tier is not None else "",
                balance,
                timezone.localtime(enrolled_at, zone).replace(tzinfo=None),
                store or "",
                str(channels.get(channel, channel)),
                str(statuses.get(status, status)),
                ", ".join(cards.get(pk, [])),
            ]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, so Excel shows Vietnamese correctly; one line at a time."""
    writer = csv.writer(_Echo())
    yield codecs.BOM_UTF8
    for row in rows:
        yield writer.writerow(neutralise_row([_csv_cell(value) for value in row])).encode("utf-8")


def xlsx_write(rows: Iterable[list[Any]], target: IO[bytes] | str) -> None:
    """openpyxl's write-only mode: rows go to a temporary file as they come, memory stays flat."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Members")[:31])
    for row in rows:
        sheet.append(neutralise_row(row))
    workbook.save(target)


def members_export(*, queryset: QuerySet[Member], fmt: str, target: IO[bytes] | str) -> int:
    """Write the members of `queryset` to `target` as xlsx or csv; returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    count = -1

    def counted() -> Iterator[list[Any]]:
        nonlocal count
        for row in export_rows(queryset):
            count += 1
            yield row

    if fmt == "xlsx":
        xlsx_write(counted(), target)
    else:
        own = isinstance(target, str)
        handle = open(target, "wb") if own else target  # noqa: SIM115 -- closed below
        try:
            for chunk in csv_stream(counted()):
                handle.write(chunk)
        finally:
            if own:
                handle.close()
    return count
