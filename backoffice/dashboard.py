"""The admin's home page is the dashboard (reports.md "Where"): the figures of a period with the
previous period beside them, and the daily charts, each with its table. Staff without the report
permission get Django's own index; the app list stays below the dashboard for the others.

Why a URL in front of the admin's index rather than a second AdminSite: the admin site stays
Django's default `admin.site` (every app registers on it), and this view hands over to its
`index` for staff who may not read reports. The figures are computed in `reports.figures` only:
this page chooses the period and the scope, reads, and lays out."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.figures import daily_series_of, figures_and_previous, local_today, previous_period
from reports.views import PERMISSION, ReportRefused, report_request, user_store_ids
from stores.models import Brand, Store
from tiers.models import Tier

DEFAULT_DAYS = 30
PRESET_DAYS = (7, 30, 90, 365)
# The longest period one page shows: a year and a leap day (365 daily rows per chart table).
MAX_DAYS = 366
# Earlier than any sale this programme can hold; also keeps date arithmetic (the previous
# period) away from year 1.
EARLIEST = datetime.date(2000, 1, 1)


def can_view_reports(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(PERMISSION)


# --- The filters ------------------------------------------------------------------------------


class DashboardFilterForm(forms.Form):
    """A GET form that works without JavaScript. `days` picks a preset ending today; `from` /
    `to` pick any range (a missing end is today, a missing start is 30 days before the end).
    Brand and store are codes, as in `summary.json`; a store manager may name their own stores
    only, and one named by URL that is not theirs is refused with the same words as one that does
    not exist (the page does not tell which codes exist elsewhere)."""

    days = forms.TypedChoiceField(
        label=gettext_lazy("Last"),
        choices=[("", "-")] + [(str(n), n) for n in PRESET_DAYS],
        coerce=int,
        empty_value=None,
        required=False,
    )
    start = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    brand = forms.CharField(label=gettext_lazy("Brand"), required=False, max_length=50)
    store = forms.CharField(label=gettext_lazy("Store"), required=False, max_length=50)

    def __init__(self, data, *, user, today: datetime.date):
        super().__init__(data)
        # `from` is a Python keyword: the fields are `start` / `end`, the parameters `from` / `to`
        # (summary.json's names), mapped by `add_prefix`.
        self.user = user
        self.today = today
        # The rule summary.json and the export apply (reports/views.py): None = every store.
        own = user_store_ids(user)
        self.scoped = own is not None
        self.stores = Store.objects.select_related("brand").order_by("brand__code", "code")
        if self.scoped:
            self.stores = self.stores.filter(pk__in=own)
        self.brands = Brand.objects.filter(pk__in=self.stores.values("brand")).order_by("code")
        self.fields["brand"].widget = forms.Select(
            choices=[("", _("All brands")), *((b.code, f"{b.code} · {b.name}") for b in self.brands)]
        )
        self.fields["store"].widget = forms.Select(
            choices=[
                ("", _("All my stores") if self.scoped else _("All stores")),
                *((s.code, f"{s.code} · {s.name}") for s in self.stores),
            ]
        )

    def add_prefix(self, field_name):
        return {"start": "from", "end": "to"}.get(field_name, field_name)

    def clean_start(self):
        return self._in_range(self.cleaned_data["start"])

    def clean_end(self):
        return self._in_range(self.cleaned_data["end"])

    def _in_range(self, day: datetime.date | None) -> datetime.date | None:
        if day is not None and day < EARLIEST:
            raise forms.ValidationError(_("Choose a date from %(day)s on.") % {"day": EARLIEST.strftime("%d/%m/%Y")})
        if day is not None and day > self.today:
            raise forms.ValidationError(_("Choose a date up to today."))
        return day

    def clean_brand(self):
        code = self.cleaned_data["brand"].strip()
        if not code:
            return None
        brand = next((b for b in self.brands if b.code == code), None)
        if brand is None:
            raise forms.ValidationError(
                _("None of your brands has the code “%(code)s”.")
                if self.scoped
                else _("No brand has the code “%(code)s”."),
                params={"code": code},
            )
        return brand

    def clean_store(self):
        code = self.cleaned_data["store"].strip()
        if not code:
            return None
        store = self.stores.filter(code=code).first()
        if store is None:
            raise forms.ValidationError(
                _("You can see the reports of your own stores only: none of them has the code “%(code)s”.")
                if self.scoped
                else _("No store has the code “%(code)s”."),
                params={"code": code},
            )
        return store

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        brand, store = data.get("brand"), data.get("store")
        if brand and store and store.brand_id != brand.pk:
            raise forms.ValidationError(
                _("The store %(store)s is not a store of the brand %(brand)s."),
                params={"store": store.code, "brand": brand.code},
            )
        start, end, days = data.get("start"), data.get("end"), data.get("days")
        if days and (start or end):
            raise forms.ValidationError(_("Choose either a preset or dates, not both."))
        end = end or self.today
        start = start or end - datetime.timedelta(days=(days or DEFAULT_DAYS) - 1)
        if start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(_("Choose a period of at most %(days)s days."), params={"days": MAX_DAYS})
        data["period"] = (start, end)
        try:
            # The same parameters summary.json and the export get, read by their one reader:
            # the page's figures are theirs, for the same period and scope.
            data["asked"] = report_request(_Asked(self.user, self.params(data)))
        except ReportRefused as exc:
            raise forms.ValidationError(exc.message) from None
        return data

    def scope(self):
        """What the figures cover: the chosen store or brand, within the user's stores."""
        return self.cleaned_data["asked"].scope

    def _codes(self) -> dict[str, str]:
        """The brand and store chosen (those refused are left out)."""
        chosen = getattr(self, "cleaned_data", {})
        return {name: chosen[name].code for name in ("brand", "store") if chosen.get(name) and name not in self.errors}

    def presets(self) -> list[tuple[int, str, bool]]:
        """(days, query string, chosen) for each preset link, keeping the brand and store."""
        chosen = getattr(self, "cleaned_data", {}).get("days")
        return [(days, urlencode({"days": days, **self._codes()}), days == chosen) for days in PRESET_DAYS]

    def params(self, data: dict | None = None) -> dict[str, str]:
        """The chosen filters as explicit parameters (summary.json's and export.xlsx's)."""
        start, end = (data or self.cleaned_data)["period"]
        return {"from": start.isoformat(), "to": end.isoformat(), **self._codes()}


@dataclass(frozen=True)
class _Asked:
    """What `report_request` reads of a request: the user and the query parameters."""

    user: object
    GET: dict


# --- The figures with their comparison --------------------------------------------------------

MONEY, POINTS, COUNT, SHARE, RATIO = "money", "points", "count", "share", "ratio"


@dataclass(frozen=True)
class Row:
    name: str  # the summary.json name
    label: str
    kind: str
    current: object
    previous: object

    @property
    def change(self) -> Decimal | None:
        """Relative change in % (money, points, counts, ratios); for shares, the difference in
        percentage points (a member share going from 40 % to 50 % is +10 points, not +25 %).
        None when there is no base to compare with."""
        current, previous = Decimal(str(self.current or 0)), Decimal(str(self.previous or 0))
        if self.kind == SHARE:
            return (current - previous) * 100
        if previous == 0:
            return None if current != 0 else Decimal(0)
        return (current - previous) / abs(previous) * 100


def _sections() -> list[tuple[str, list[tuple[str, str, str]]]]:
    return [
        (_("Sales and orders"), [
            ("net_sales", _("Net sales"), MONEY),
            ("gross_sales", _("Gross sales"), MONEY),
            ("member_sales", _("Member sales"), MONEY),
            ("member_share", _("Member share of net sales"), SHARE),
            ("orders", _("Orders"), COUNT),
            ("member_orders", _("Member orders"), COUNT),
            ("aov_members", _("Average order, members"), MONEY),
            ("aov_non_members", _("Average order, non-members"), MONEY),
        ]),
        (_("Members"), [
            ("active_members", _("Active members"), COUNT),
            ("new_members", _("New members"), COUNT),
            ("purchase_frequency", _("Purchase frequency (orders per active member)"), RATIO),
            ("returning_rate", _("Returning rate"), SHARE),
            ("upgrades", _("Tier upgrades"), COUNT),
            ("downgrades", _("Tier downgrades"), COUNT),
        ]),
        (_("Points"), [
            ("points_issued", _("Points issued"), POINTS),
            ("points_redeemed", _("Points redeemed"), POINTS),
            ("points_expired", _("Points expired"), POINTS),
            ("points_adjusted", _("Points adjusted"), POINTS),
            ("outstanding_points", _("Outstanding points at the end"), POINTS),
            ("liability_vnd", _("Liability (outstanding points in VND)"), MONEY),
            ("expiring_30", _("Expiring in the next 30 days"), POINTS),
            ("expiring_60", _("Expiring in the next 60 days"), POINTS),
            ("expiring_90", _("Expiring in the next 90 days"), POINTS),
        ]),
        (_("Vouchers"), [
            ("vouchers_issued", _("Vouchers issued"), COUNT),
            ("vouchers_used", _("Vouchers used"), COUNT),
            ("voucher_use_rate", _("Use rate (used ÷ issued)"), SHARE),
        ]),
        (_("Paid membership"), [
            ("membership_revenue", _("Paid membership revenue (fees − refunds)"), MONEY),
            ("memberships_sold", _("Paid memberships sold"), COUNT),
            ("paid_members", _("Paid members"), COUNT),
        ]),
    ]  # fmt: skip


def figure_sections(current: dict, previous: dict) -> list[tuple[str, list[Row]]]:
    return [
        (title, [Row(name, label, kind, current.get(name), previous.get(name)) for name, label, kind in rows])
        for title, rows in _sections()
    ]


# --- The charts, each with the table it is drawn from ----------------------------------------


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    kind: str  # "line" or "bar" (Chart.js chart types)
    unit: str  # MONEY, POINTS or COUNT: how the table cells and the axis are written
    label_title: str  # what the rows are: days or tiers
    labels: list[str]  # one per row of the table
    series: list[tuple[str, list]]  # (name, one value per row)
    stacked: bool = False
    axis_labels: list[str] | None = None  # shorter labels on the chart's axis (default: `labels`)

    @property
    def rows(self) -> list[tuple[str, list]]:
        return [(label, [values[i] for _name, values in self.series]) for i, label in enumerate(self.labels)]

    def data(self) -> dict:
        """What dashboard.js draws (plain JSON: money as whole đồng)."""
        return {
            "title": self.title,
            "type": self.kind,
            "unit": self.unit,
            "stacked": self.stacked,
            "labels": self.axis_labels or self.labels,
            "series": [{"name": name, "values": [_number(v) for v in values]} for name, values in self.series],
        }


def _number(value) -> int | float:
    value = value or 0
    return int(value) if Decimal(str(value)) == int(value) else float(value)


def build_charts(days: list[dict], tiers: dict) -> list[Chart]:
    dates = [day["day"] for day in days]
    labels = {"label_title": _("Day"), "labels": [d.strftime("%d/%m/%Y") for d in dates],
              "axis_labels": [d.strftime("%d/%m") for d in dates]}  # fmt: skip

    def column(name):
        return [day[name] for day in days]

    tier_names = {t.code: t.display_name for t in Tier.objects.filter(code__in=list(tiers)).order_by("rank")}
    tier_codes = [code for code in tier_names if code in tiers] + sorted(set(tiers) - set(tier_names))
    return [
        Chart("sales", _("Net sales per day"), "bar", MONEY, series=[
            (_("Members"), column("net_sales_members")), (_("Others"), column("net_sales_others"))
        ], stacked=True, **labels),
        Chart("enrolments", _("Enrolments per day"), "bar", COUNT, series=[
            (_("New members"), column("enrolments"))
        ], **labels),
        Chart("points", _("Points per day"), "line", POINTS, series=[
            (_("Points issued"), column("points_issued")),
            (_("Points redeemed"), column("points_redeemed")),
            (_("Points expired"), column("points_expired")),
        ], **labels),
        Chart("tiers", _("Members per tier at the end of the period"), "bar", COUNT, label_title=_("Tier"),
              labels=[tier_names.get(code, code) for code in tier_codes],
              series=[(_("Members"), [tiers[code] for code in tier_codes])]),
    ]  # fmt: skip


# --- The page ---------------------------------------------------------------------------------


def admin_home(request: HttpRequest) -> HttpResponse:
    """`/admin/`: the dashboard for staff who may read reports, Django's index for the others."""
    if not can_view_reports(request.user):
        return admin.site.index(request)
    request.current_app = admin.site.name
    form = DashboardFilterForm(request.GET or {"days": str(DEFAULT_DAYS)}, user=request.user, today=local_today())
    valid = form.is_valid()
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "subtitle": None,
        "app_list": admin.site.get_app_list(request),
        "form": form,
        "presets": form.presets(),
        "scoped": form.scoped,
    }
    if not valid:
        # Bad or foreign filters: the form with its errors, and no figure at all.
        return TemplateResponse(request, "admin/dashboard.html", context, status=400)
    start, end = form.cleaned_data["period"]
    scope = form.scope()
    params = form.params()
    # The form shows the period as dates, whichever way it was chosen: changing the store then
    # keeps the period.
    context["form"] = DashboardFilterForm(params, user=request.user, today=form.today)
    before = previous_period(start, end)
    # One read of the figures for both periods and the charts (reports.figures).
    current, previous, additive = figures_and_previous(start=start, end=end, scope=scope)
    charts = build_charts(daily_series_of(additive, start, end), current.get("tiers") or {})
    context.update(
        start=start,
        end=end,
        previous_start=before[0],
        previous_end=before[1],
        store=form.cleaned_data["store"],
        brand=form.cleaned_data["brand"],
        sections=figure_sections(current, previous),
        voucher_tables=[
            (
                _("Vouchers by reward"),
                _("Reward"),
                [(f"{row['reward']} · {row['name']}", row) for row in current["vouchers_by_reward"]],
            ),
            (
                _("Vouchers by campaign"),
                _("Campaign"),
                [(row["campaign"] or _("Not from a campaign"), row) for row in current["vouchers_by_campaign"]],
            ),
        ],
        charts=charts,
        chart_data={chart.key: chart.data() for chart in charts},
        query=urlencode(params),
        export_url=reverse("reports-export"),
        summary_url=reverse("reports-summary"),
    )
    return TemplateResponse(request, "admin/dashboard.html", context)
