"""The POS API's JSON parser: DRF's, bounded. A body larger than `POS_MAX_BODY_BYTES` answers 413
`payload-too-large` (read no further than the limit), and one nested deeper than
`MAX_JSON_DEPTH` 400 `validation-error` (Python's decoder would otherwise overflow its stack on
a few thousand `[` and answer 500). Both are problem+json, like every other refusal."""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

from loyalty_site.core.api.exceptions import PayloadTooLarge

# A sale of 500 lines is three levels deep; nothing the API accepts needs more than a few.
MAX_JSON_DEPTH = 20


def json_too_deep(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `data` nests lists and objects more than `limit` levels (iterative)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = settings.POS_MAX_BODY_BYTES
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(
                _("The request body may be at most %(limit)d bytes.") % {"limit": limit},
                extra={"max_bytes": limit},
            )
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(
                _("The request body may be at most %(limit)d bytes.") % {"limit": limit},
                extra={"max_bytes": limit},
            )
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        parse_constant = json.JSONDecoder().parse_constant if not api_settings.STRICT_JSON else _no_constants
        try:
            data = json.loads(codecs.decode(raw, encoding), parse_constant=parse_constant)
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
        if json_too_deep(data):
            raise ParseError(_("The JSON body is nested too deeply."))
        return data


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")
