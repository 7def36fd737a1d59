"""A small JSON-over-HTTP client on the standard library, shared by the HTTP channel backends.

Transport failures become `TransientSendError` (timeouts, refused or reset connections); the
HTTP status and parsed JSON body are returned for the backend to map its provider's codes.
`http_status_error` gives the generic mapping: 408, 429 and 5xx are transient, any other
non-2xx status permanent."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from notifications.channels import PermanentSendError, SendError, TransientSendError

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_MAX_RESPONSE_BYTES = 1_000_000


@dataclass(frozen=True)
class HttpResponse:
    status: int
    data: Any
    text: str


def _opener(host: str) -> urllib.request.OpenerDirector:
    # Environment proxies apply to real gateways, never to a gateway on this machine.
    if host in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def post_json(url: str, payload: dict, *, headers: dict[str, str] | None = None, timeout: float) -> HttpResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _post(url, body, "application/json; charset=utf-8", headers=headers, timeout=timeout)


def post_form(
    url: str, fields: dict[str, str], *, headers: dict[str, str] | None = None, timeout: float
) -> HttpResponse:
    """An `application/x-www-form-urlencoded` POST (OAuth token endpoints), JSON answer parsed."""
    body = urllib.parse.urlencode(fields).encode("ascii")
    return _post(url, body, "application/x-www-form-urlencoded", headers=headers, timeout=timeout)


def _post(url: str, body: bytes, content_type: str, *, headers: dict[str, str] | None, timeout: float) -> HttpResponse:
    parsed = urllib.parse.urlsplit(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PermanentSendError(f"gateway URL not configured or not http(s): {url!r}")
    request = urllib.request.Request(  # noqa: S310 -- the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": "application/json", **(headers or {})},
    )
    try:
        with _opener(parsed.hostname).open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(_MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(_MAX_RESPONSE_BYTES)
    except TimeoutError:
        raise TransientSendError(f"timed out after {timeout:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise TransientSendError(f"timed out after {timeout:g} s") from None
        raise TransientSendError(f"connection failed: {exc.reason}") from None
    except (http.client.HTTPException, OSError) as exc:
        raise TransientSendError(f"connection failed: {exc.__class__.__name__}: {exc}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    return HttpResponse(status=status, data=data, text=text)


def http_status_error(response: HttpResponse) -> SendError | None:
    """The error a non-2xx status means, or None for 2xx."""
    if 200 <= response.status < 300:
        return None
    detail = f"HTTP {response.status}: {response.text[:300]}"
    if response.status >= 500 or response.status in (408, 429):
        return TransientSendError(detail)
    return PermanentSendError(detail)
