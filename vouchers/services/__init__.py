"""Every write of the vouchers app, and the voucher check the checkout shares with the quote.
Import from here: `from vouchers.services import reward_redeem, voucher_check, voucher_use`; the set-based
issue (`vouchers_issue_bulk`, `vouchers_plan_bulk` / `vouchers_issue_planned`) is in `bulk`."""

from vouchers.services.batches import (
    batch_code_use,
    batch_codes_return,
    voucher_batch_create,
    voucher_batch_export_csv,
    voucher_batch_export_xlsx,
)
from vouchers.services.bulk import (
    BulkIssue,
    IssuedVoucher,
    VoucherPlan,
    voucher_codes_free,
    vouchers_issue_bulk,
    vouchers_issue_planned,
    vouchers_plan_bulk,
)
from vouchers.services.check import Reason, VoucherCheck, voucher_check
from vouchers.services.rewards import reward_save
from vouchers.services.shared_codes import shared_code_save, shared_code_use, shared_code_uses_return
from vouchers.services.vouchers import (
    reward_redeem,
    voucher_issue,
    voucher_return,
    voucher_use,
    voucher_void,
    vouchers_expire,
    vouchers_void_to_cover,
)

__all__ = [
    "BulkIssue",
    "IssuedVoucher",
    "Reason",
    "VoucherCheck",
    "VoucherPlan",
    "batch_code_use",
    "batch_codes_return",
    "reward_redeem",
    "reward_save",
    "shared_code_save",
    "shared_code_use",
    "shared_code_uses_return",
    "voucher_batch_create",
    "voucher_batch_export_csv",
    "voucher_batch_export_xlsx",
    "voucher_check",
    "voucher_codes_free",
    "voucher_issue",
    "voucher_return",
    "voucher_use",
    "voucher_void",
    "vouchers_expire",
    "vouchers_issue_bulk",
    "vouchers_issue_planned",
    "vouchers_plan_bulk",
    "vouchers_void_to_cover",
]
