"""Signing a member in for tests of the member pages, without the code by message."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import Client, RequestFactory

from members.models import Member
from portal.sessions import COOKIE_NAME, session_start


def sign_in(client: Client, member: Member) -> None:
    """`client` is now signed in as `member` (a real session row and its cookie)."""
    request = RequestFactory().get("/m/")
    response = HttpResponse()
    session_start(request=request, response=response, member=member)
    client.cookies[COOKIE_NAME] = response.cookies[COOKIE_NAME].value
    client.cookies[COOKIE_NAME]["path"] = "/m/"
