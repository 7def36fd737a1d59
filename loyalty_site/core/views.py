from django.db import connection
from django.db.utils import DatabaseError
from django.http import JsonResponse


def healthz(request):
    """Load balancer probe: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def api_not_found(request, exception=None):
    """404 for unknown URLs: problem+json under /api/, Django's page elsewhere."""
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        from django.utils.translation import gettext as _

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
