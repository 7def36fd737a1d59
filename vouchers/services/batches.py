"""Voucher batches: N unique printed codes of a reward generated at once, set-based (codes drawn
in bulk from the voucher alphabet, written with COPY on PostgreSQL through
`loyalty_site.core.rows`), exported to CSV or Excel for printing (each export recorded), used
once at a till (given in `"vouchers"`), then tied to the member of that sale; a full refund gives
the code back (unused again, tied to nobody)."""

from __future__ import annotations

import csv
import datetime
import io
import secrets
from collections.abc import Iterator
from typing import IO

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from loyalty_site.core.errors import ValidationFailed, clean_or_refuse
from loyalty_site.core.importexport.escape import neutralise_row
from loyalty_site.core.rows import rows_insert
from members.models import Member
from stores.models import Store
from vouchers.codes import ALPHABET
from vouchers.errors import VoucherUsed
from vouchers.models import BatchCode, Reward, VoucherBatch, VoucherBatchExport

BATCH_CODE_LENGTH = 10
BATCH_MAX = 1_000_000
_UNBIASED = 256 - 256 % len(ALPHABET)


def batch_codes_generate(count: int) -> list[str]:
    """`count` distinct random ten-character codes (one read of the system's random source per
    round; rejection sampling keeps every character equally likely)."""
    codes: dict[str, None] = {}
    while len(codes) < count:
        raw = [b for b in secrets.token_bytes((count - len(codes)) * BATCH_CODE_LENGTH * 2) if b < _UNBIASED]
        for start in range(0, len(raw) - BATCH_CODE_LENGTH + 1, BATCH_CODE_LENGTH):
            codes["".join(ALPHABET[b % len(ALPHABET)] for b in raw[start : start + BATCH_CODE_LENGTH])] = None
            if len(codes) == count:
                break
    return list(codes)


def _taken(codes: list[str]) -> set[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT code FROM {connection.ops.quote_name(BatchCode._meta.db_table)} WHERE code = ANY(%s)",  # noqa: S608
                [codes],
            )
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for start in range(0, len(codes), 900):
        found |= set(BatchCode.objects.filter(code__in=codes[start : start + 900]).values_list("code", flat=True))
    return found


def voucher_batch_create(*, reward: Reward, count: int, name: str = "", by=None) -> VoucherBatch:
    """A batch of `count` new codes of `reward`, all written in one transaction (none on a
    refusal: ValidationFailed for a count outside 1..1,000,000)."""
    if not isinstance(count, int) or not 1 <= count <= BATCH_MAX:
        message = _("Give a number of codes from 1 to %(max)d.") % {"max": BATCH_MAX}
        raise ValidationFailed(message, errors={"count": [message]})
    now = timezone.now()
    batch = VoucherBatch(reward=reward, name=name or reward.code, count=count, created_by=by)
    clean_or_refuse(batch)
    with transaction.atomic():
        batch.save(force_insert=True)
        left = count
        while left:
            drawn = batch_codes_generate(left)
            taken = _taken(drawn)
            free = [code for code in drawn if code not in taken]
            rows_insert(BatchCode, ({"batch_id": batch.pk, "code": code} for code in free), now=now)
            left -= len(free)
    return batch


EXPORT_FORMATS = ("xlsx", "csv")


def _rows(batch: VoucherBatch) -> Iterator[list[str]]:
    # Codes come from the voucher alphabet and dates are ISO text, so nothing here can start a
    # formula today; every cell still goes through `neutralise`, as in every export we write.
    for code, used_at in (
        BatchCode.objects.filter(batch=batch).order_by("pk").values_list("code", "used_at").iterator(chunk_size=20_000)
    ):
        # An unused code's date is None, not "": openpyxl then writes no cell at all (a quarter
        # less time for a new batch of 100,000); csv writes None as an empty field.
        yield neutralise_row([code, used_at.isoformat() if used_at else None])


def _header() -> list[str]:
    return neutralise_row([_("code"), _("used at")])


def voucher_batch_export_csv(*, batch: VoucherBatch, by=None) -> str:
    """The batch as CSV (code, used at) for the printer; the export is recorded."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header())
    rows = 0
    for row in _rows(batch):
        writer.writerow(row)
        rows += 1
    VoucherBatchExport.objects.create(batch=batch, exported_by=by, file_format="csv", rows=rows)
    return out.getvalue()


def voucher_batch_export_xlsx(*, batch: VoucherBatch, target: IO[bytes] | str, by=None) -> int:
    """The batch as an Excel workbook (code, used at) written to `target` with openpyxl's
    write-only mode (rows streamed to a temporary file, memory stays flat at 100,000 codes);
    the export is recorded. Returns the number of codes written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Codes")[:31])
    sheet.append(_header())
    rows = 0
    for row in _rows(batch):
        sheet.append(row)
        rows += 1
    workbook.save(target)
    VoucherBatchExport.objects.create(batch=batch, exported_by=by, file_format="xlsx", rows=rows)
    return rows


def batch_code_use(
    *, code: BatchCode, member: Member | None, store: Store, sale_reference: str, at: datetime.datetime
) -> BatchCode:
    """Use the printed code on a sale and tie it to the sale's member: exactly once (a
    conditional UPDATE; the loser of a race gets VoucherUsed)."""
    updated = BatchCode.objects.filter(pk=code.pk, used_at__isnull=True).update(
        member=member, used_at=at, used_store=store, used_sale_reference=sale_reference
    )
    if not updated:
        raise VoucherUsed(
            _("Voucher %(code)s has already been used.") % {"code": code.code},
            extra={"voucher": code.code, "reason": "used"},
        )
    return code


def batch_codes_return(*, sale_reference: str) -> list[str]:
    """Give back the printed codes a fully refunded sale used: unused again, tied to nobody."""
    codes = list(BatchCode.objects.filter(used_sale_reference=sale_reference).values_list("code", flat=True))
    BatchCode.objects.filter(used_sale_reference=sale_reference).update(
        member=None, used_at=None, used_store=None, used_sale_reference=""
    )
    return codes
