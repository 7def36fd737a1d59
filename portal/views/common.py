"""What every member page shares: the brand's look, the language switch, and the headers that
keep the pages out of search engines and out of shared caches."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from portal.selectors import page_brand

ROBOTS = "noindex, nofollow"


def private(response):
    """Personal pages: never indexed, never kept by a shared cache."""
    response["X-Robots-Tag"] = ROBOTS
    add_never_cache_headers(response)
    return response


def render_page(request, template: str, context: dict | None = None, *, status: int = 200):
    member = getattr(request, "member", None)
    context = {"brand": page_brand(member), "member": member, **(context or {})}
    return private(render(request, template, context, status=status))


def client_ip(request) -> str:
    """The address the request came from (REMOTE_ADDR: behind a proxy, configure it to set it)."""
    return (request.META.get("REMOTE_ADDR") or "")[:45]
