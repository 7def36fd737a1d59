"""The reports' pages under /admin/reports/ (included from backoffice/urls.py)."""

from django.urls import path

from reports.views import export_xlsx_view, summary_json_view

urlpatterns = [
    path("reports/summary.json", summary_json_view, name="reports-summary"),
    path("reports/export.xlsx", export_xlsx_view, name="reports-export"),
]
