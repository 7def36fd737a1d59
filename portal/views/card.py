"""The member's card: a QR of the rotating card token (a new one every 60 s, valid 120 s; the
till scans it as proof of presence, pos-api.md 1.1) and the member code as a Code 128 barcode.
`card.js` fetches a fresh QR from /m/card/token/ every minute; without JavaScript the page
reloads itself every minute."""

from __future__ import annotations

import io
import re

import segno
from django.http import JsonResponse

from members.presence import TOKEN_STEP_SECONDS
from members.services import member_token_issue
from portal.auth import member_required
from portal.views.common import private, render_page


def _inline_svg(svg: str) -> str:
    """An SVG document as an element to place in the page (no XML declaration or doctype)."""
    return svg[svg.index("<svg") :]


def token_qr_svg(token: str) -> str:
    out = io.BytesIO()
    segno.make(token, error="m", micro=False).save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, omitsize=True
    )
    return _inline_svg(out.getvalue().decode())


def member_code_barcode_svg(code: str) -> str:
    # Imported here: python-barcode logs at import that Pillow is missing (only SVG is used).
    import barcode
    from barcode.writer import SVGWriter

    rendered = barcode.get("code128", code, writer=SVGWriter()).render(
        writer_options={
            "module_height": 14,
            "module_width": 0.3,
            "quiet_zone": 3,
            "write_text": False,
            "compress": False,
        }
    )
    return _scalable(_inline_svg(rendered.decode()))


_MM_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)mm" height="([\d.]+)mm"')
_PX_PER_MM = 96 / 25.4


def _scalable(svg: str) -> str:
    """python-barcode sizes its SVG in millimetres without a viewBox: give it one (in CSS
    pixels, the unit of its millimetre coordinates) so that the page can scale it."""

    def viewbox(match: re.Match) -> str:
        width, height = float(match.group(2)) * _PX_PER_MM, float(match.group(3)) * _PX_PER_MM
        return f'<svg{match.group(1)} viewBox="0 0 {width:.1f} {height:.1f}"'

    return _MM_SIZE.sub(viewbox, svg, count=1)


def _token_payload(member) -> dict:
    issued = member_token_issue(member=member)
    return {"token": issued.token, "valid_until": issued.valid_until.isoformat(), "svg": token_qr_svg(issued.token)}


@member_required
def card(request):
    return render_page(
        request,
        "portal/card.html",
        {
            "token": _token_payload(request.member),
            "barcode": member_code_barcode_svg(request.member.code),
            "refresh_seconds": TOKEN_STEP_SECONDS,
        },
    )


@member_required
def card_token(request):
    return private(JsonResponse(_token_payload(request.member)))
