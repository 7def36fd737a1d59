"""The reports' machine and file answers: `summary.json` and `export.xlsx` (reports.md "For
machines"). Thin: parse the parameters, check the permission and the staff user's scope, call
`reports.figures`, render. Nothing here writes but the export's record.

Parameters: `from`, `to` (YYYY-MM-DD, local days, both included; default the last 30 days up to
today), `brand` and `store` (codes, optional). A store manager sees their own stores only: a
store (or a brand) outside them is refused (403); no store means all of theirs."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook

from loyalty_site.core.importexport.escape import neutralise_row
from loyalty_site.core.importexport.services import export_record
from loyalty_site.core.scoping import staff_scope
from reports.figures import Scope, daily_series_of, figures_and_previous, local_today, period_figures
from reports.models import DailySales
from stores.models import Brand, Store

PERMISSION = "reports.view_reports"
DEFAULT_DAYS = 30
MAX_DAYS = 732  # two years: a comparison with the previous period reads four


class ReportRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class ReportRequest:
    start: datetime.date
    end: datetime.date
    scope: Scope
    brand: Brand | None
    store: Store | None


def _date(value: str, name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ReportRefused(
            400, _("%(name)s must be a date written YYYY-MM-DD, not %(value)s.") % {"name": name, "value": value[:40]}
        ) from None


def user_store_ids(user) -> frozenset[int] | None:
    """The stores `user` may report on, `None` for every store (through the project's staff
    scoping hook: unchanged for staff who see every brand)."""
    stores = Store.objects.all()
    scoped = staff_scope(user, stores)
    return None if scoped is stores else frozenset(scoped.values_list("pk", flat=True))


def report_request(request) -> ReportRequest:
    """The period and scope the query string asks for, checked against the user's own stores.
    Raises `ReportRefused` (400 bad input, 403 outside the user's stores)."""
    params = request.GET
    today = local_today()
    end = _date(params["to"], "to") if params.get("to") else today
    start = _date(params["from"], "from") if params.get("from") else end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ReportRefused(400, _("The end of the period (to) comes before its start (from)."))
    if (end - start).days + 1 > MAX_DAYS:
        raise ReportRefused(400, _("A period can be at most %(days)d days long.") % {"days": MAX_DAYS})
    brand = store = None
    if params.get("brand"):
        brand = Brand.objects.filter(code=params["brand"]).first()
        if brand is None:
            raise ReportRefused(400, _("No brand with the code %(code)s.") % {"code": params["brand"][:40]})
    if params.get("store"):
        store = Store.objects.filter(code=params["store"]).first()
        if store is None:
            raise ReportRefused(400, _("No store with the code %(code)s.") % {"code": params["store"][:40]})
    own = user_store_ids(request.user)
    if own is not None:
        outside = store is not None and store.pk not in own
        if outside or (brand is not None and not brand.stores.filter(pk__in=own).exists()):
            raise ReportRefused(403, _("You can see the reports of your own stores only."))
    scope = Scope(brand_id=brand.pk if brand else None, store_id=store.pk if store else None, store_ids=own)
    return ReportRequest(start=start, end=end, scope=scope, brand=brand, store=store)


def _allowed(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise ReportRefused(403, _("You do not have permission to see the reports."))


def _plain(value):
    """JSON form: money and shares as decimal strings, days as YYYY-MM-DD."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _refusal(exc: ReportRefused) -> JsonResponse:
    return JsonResponse({"error": exc.message, "status": exc.status}, status=exc.status)


def summary_json(request):
    try:
        _allowed(request)
        asked = report_request(request)
    except ReportRefused as exc:
        return _refusal(exc)
    figures = period_figures(start=asked.start, end=asked.end, scope=asked.scope)
    body = {
        **_plain(figures),
        "brand": asked.brand.code if asked.brand else None,
        "store": asked.store.code if asked.store else None,
    }
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


# --- The export ---------------------------------------------------------------------------------


def _sheets(figures: dict, series: list[dict]) -> list[tuple[str, list[str], list[list]]]:
    """(sheet title, header, rows): one sheet per section of reports.md."""

    def pairs(names: list[tuple[str, str]]) -> list[list]:
        return [[label, figures[name]] for name, label in names]

    figure, value = _("Figure"), _("Value")
    return [
        (
            _("Sales figures"),
            [figure, value],
            pairs(
                [
                    ("net_sales", _("Net sales (VND)")),
                    ("gross_sales", _("Gross sales (VND)")),
                    ("member_sales", _("Member sales (VND)")),
                    ("member_share", _("Member share")),
                    ("orders", _("Orders")),
                    ("member_orders", _("Member orders")),
                    ("aov_members", _("Average order value, members (VND)")),
                    ("aov_non_members", _("Average order value, non-members (VND)")),
                ]
            ),
        ),
        (
            _("Member figures"),
            [figure, value],
            pairs(
                [
                    ("active_members", _("Active members")),
                    ("new_members", _("New members")),
                    ("purchase_frequency", _("Purchase frequency")),
                    ("returning_rate", _("Returning rate")),
                ]
            ),
        ),
        (
            _("Points"),
            [figure, value],
            pairs(
                [
                    ("points_issued", _("Points issued")),
                    ("points_redeemed", _("Points redeemed")),
                    ("points_expired", _("Points expired")),
                    ("points_adjusted", _("Points adjusted")),
                    ("outstanding_points", _("Outstanding points")),
                    ("liability_vnd", _("Liability (VND)")),
                    ("expiring_30", _("Expiring within 30 days")),
                    ("expiring_60", _("Expiring within 60 days")),
                    ("expiring_90", _("Expiring within 90 days")),
                ]
            ),
        ),
        (
            _("Vouchers"),
            [_("Reward"), _("Campaign"), _("Issued"), _("Used"), _("Use rate")],
            [[_("All"), "", figures["vouchers_issued"], figures["vouchers_used"], figures["voucher_use_rate"]]]
            + [
                [row["reward"], "", row["issued"], row["used"], row["use_rate"]]
                for row in figures["vouchers_by_reward"]
            ]
            + [
                ["", row["campaign"] or _("(no campaign)"), row["issued"], row["used"], row["use_rate"]]
                for row in figures["vouchers_by_campaign"]
            ],
        ),
        (
            _("Paid membership"),
            [figure, value],
            pairs(
                [
                    ("membership_revenue", _("Paid membership revenue (VND)")),
                    ("membership_fees", _("Paid membership fees (VND)")),
                    ("membership_refunds", _("Paid membership refunds (VND)")),
                    ("memberships_sold", _("Paid memberships sold")),
                    ("paid_members", _("Paid members")),
                ]
            ),
        ),
        (
            _("Tiers"),
            [_("Tier"), _("Members")],
            [[code, members] for code, members in figures["tiers"].items()]
            + [[_("Upgrades"), figures["upgrades"]], [_("Downgrades"), figures["downgrades"]]],
        ),
        (
            _("Daily"),
            [
                _("Day"),
                _("Net sales, members (VND)"),
                _("Net sales, others (VND)"),
                _("Enrolments"),
                _("Points issued"),
                _("Points redeemed"),
                _("Points expired"),
            ],
            [
                [
                    row["day"],
                    row["net_sales_members"],
                    row["net_sales_others"],
                    row["enrolments"],
                    row["points_issued"],
                    row["points_redeemed"],
                    row["points_expired"],
                ]
                for row in series
            ],
        ),
    ]


def export_xlsx(request):
    try:
        _allowed(request)
        asked = report_request(request)
    except ReportRefused as exc:
        return _refusal(exc)
    figures, _previous, additive = figures_and_previous(
        start=asked.start, end=asked.end, scope=asked.scope, previous=False
    )
    series = daily_series_of(additive, asked.start, asked.end)
    workbook = Workbook()
    workbook.remove(workbook.active)
    rows_written = 0
    for title, header, rows in _sheets(figures, series):
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(neutralise_row(header))
        for row in rows:
            # Money and shares stay numbers (Decimal cells: a spreadsheet sums them); text neutralised.
            sheet.append(neutralise_row(row))
            rows_written += 1
    output = io.BytesIO()
    workbook.save(output)
    export_record(
        user=request.user, model=DailySales, file_format="xlsx", rows=rows_written, filters=request.GET.urlencode()
    )
    response = HttpResponse(
        output.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="reports-{asked.start}-{asked.end}.xlsx"'
    return response


summary_json_view = admin.site.admin_view(summary_json)
export_xlsx_view = admin.site.admin_view(export_xlsx)
