"""A throwaway POS endpoint for testing the API plumbing on its own: it creates an auth Group,
which is a real row to count, and refuses a name that exists."""

import time

from django.contrib.auth.models import Group
from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_site.core.api.idempotency import IdempotentAPIView
from loyalty_site.core.errors import ConflictError


class ThrowawayInput(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    hold_seconds = serializers.FloatField(required=False, default=0, min_value=0, max_value=5)
    crash = serializers.BooleanField(required=False, default=False)
    refuse_after_write = serializers.BooleanField(required=False, default=False)


class ThrowawayCreateApi(IdempotentAPIView):
    def post(self, request):
        data = ThrowawayInput(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["name"]
        if Group.objects.filter(name=name).exists():
            raise ConflictError(detail=f"{name} exists")
        group = Group.objects.create(name=name)
        time.sleep(data.validated_data["hold_seconds"])  # keeps the transaction open for races
        if data.validated_data["crash"]:
            raise RuntimeError("simulated bug after a write")
        if data.validated_data["refuse_after_write"]:
            raise ConflictError(detail="refused after writing")
        return Response({"id": group.pk, "name": name, "at": time.time()}, status=201)


class ThrowawayWhoAmIApi(APIView):
    def get(self, request):
        return Response({"terminal": request.auth.name, "store": request.auth.store.code})


urlpatterns = [
    path("api/pos/v1/_throwaway", ThrowawayCreateApi.as_view()),
    path("api/pos/v1/_whoami", ThrowawayWhoAmIApi.as_view()),
    path("", include("loyalty_site.urls")),
]

handler404 = "loyalty_site.core.views.api_not_found"
