"""The project's URLs plus a bare baseline endpoint: it authenticates the terminal and inserts
one row, nothing else. Sale throughput is compared with it in the same run."""

import uuid

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_site.core.models import IdempotencyRecord


class BareInsertApi(APIView):
    def post(self, request):
        record = IdempotencyRecord.objects.create(
            scope="bench",
            key=uuid.uuid4().hex,
            request_hash="-",
            method="POST",
            path=request.path,
            response_status=201,
            response_body=b"",
            response_content_type="application/json",
        )
        return Response({"id": record.pk}, status=201)


urlpatterns = [
    path("bench/bare", BareInsertApi.as_view()),
    path("", include("loyalty_site.urls")),
]
