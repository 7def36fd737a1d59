from django.urls import path

from pos.apis.members import MemberEnrolApi, MemberLookupApi

app_name = "pos"

urlpatterns: list = [
    path("members/lookup", MemberLookupApi.as_view(), name="member-lookup"),
    path("members", MemberEnrolApi.as_view(), name="member-enrol"),
]
