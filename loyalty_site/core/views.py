import sys

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

from loyalty_site.core.api.auth_failures import auth_failures_today
from loyalty_site.core.api.exceptions import DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE, PROBLEM_CONTENT_TYPE
from loyalty_site.core.cache import cache_ping
from loyalty_site.core.dispatch import BROKER_ERRORS


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


def _broker_ok() -> bool:
    """True when the Celery broker accepts a connection; tasks that run in-process (no broker
    configured: the embedded mode) have nothing to be down."""
    from celery import current_app

    if current_app.conf.task_always_eager:
        return True
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0)
    except BROKER_ERRORS:
        return False
    return True


def healthz(request):
    """Load balancer probe: 200 when the database answers, 503 when it does not.

    `?deep=1` also says whether the cache and the broker answer (`ok` / `down`): the status stays
    200 when only they are down (the POS API works without them, risk.md), `status` then says
    `degraded`. It also gives the day's count of POS API requests refused for a missing or wrong
    key (`unauthenticated_attempts_today`)."""
    database = _database_ok()
    body = {"status": "ok" if database else "unavailable", "database": "ok" if database else "down"}
    if request.GET.get("deep") in {"1", "true", "yes"}:
        cache_up, broker_up = cache_ping(), _broker_ok()
        body["cache"] = "ok" if cache_up else "down"
        body["broker"] = "ok" if broker_up else "down"
        body["unauthenticated_attempts_today"] = auth_failures_today() if cache_up else None
        if database and not (cache_up and broker_up):
            body["status"] = "degraded"
    return JsonResponse(body, status=200 if database else 503)


def server_error(request):
    """handler500: a database that cannot be reached is a 503 that says to come back shortly
    (problem+json under /api/, a plain page elsewhere, neither touching the database); anything
    else is Django's 500."""
    from django.views.defaults import server_error as django_server_error

    exc = sys.exc_info()[1]
    if not isinstance(exc, DATABASE_UNAVAILABLE):
        return django_server_error(request)
    title = _("The service is temporarily unavailable. Nothing was recorded; try again shortly.")
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"type": "/problems/service-unavailable", "title": title, "status": 503, "detail": title},
            status=503,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    else:
        language = escape(getattr(request, "LANGUAGE_CODE", "vi"))
        page = (
            f'<!doctype html><html lang="{language}"><head><meta charset="utf-8"><title>503</title></head>'
            f"<body><h1>{escape(_('Service unavailable'))}</h1><p>{escape(title)}</p></body></html>"
        )
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def api_not_found(request, exception=None):
    """404 for unknown URLs: problem+json under /api/, Django's page elsewhere."""
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "type": "/problems/not-found",
                "title": _("Not found."),
                "status": 404,
                "detail": _("Not found."),
            },
            status=404,
            content_type="application/problem+json",
        )
    return page_not_found(request, exception)
