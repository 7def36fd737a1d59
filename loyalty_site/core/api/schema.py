"""OpenAPI pieces every POS endpoint reuses: the Idempotency-Key header, the replay header and
the problem+json error body."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description=(
        "1 to 255 printable ASCII characters, unique per terminal and operation. A retry with the same "
        "key and body returns the stored response byte for byte with `Idempotent-Replayed: true`; the "
        "same key with another body is 422 `idempotency-key-reused`; a request still in flight is 409 "
        "`request-in-progress`."
    ),
)
ACCEPT_LANGUAGE = OpenApiParameter(
    name="Accept-Language",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    enum=["vi", "en"],
    description="Language of error messages: `vi` (default) or `en`.",
)

Problem = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.CharField(help_text="`/problems/<code>`, e.g. `/problems/insufficient-points`."),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation errors per field (`lines.0.quantity` for nested ones).",
        ),
    },
)


def problem(description: str) -> OpenApiResponse:
    """A documented error response: `problem("409 insufficient-points: ...")`."""
    return OpenApiResponse(response=Problem, description=description)


COMMON_ERRORS = {
    401: problem("`not-authenticated`: missing or unknown API key."),
    403: problem("`permission-denied`: the key was revoked or the store is not active."),
    429: problem("`throttled`: too many requests from this terminal; see `Retry-After`."),
}


def lift_defaults_out_of_one_of(result: dict, **kwargs) -> dict:
    """Postprocessing hook: a blank-allowed string with a format (an optional email, default "")
    is drawn as `oneOf: [{format: email, default: ""}, {maxLength: 0}]`, and `""` is no valid
    email, so validators (openapi-spec-validator) and some client generators refuse the schema.
    The default belongs beside the `oneOf`, where `""` matches the blank branch."""

    def visit(node: object) -> None:
        if isinstance(node, dict):
            for branch in node.get("oneOf", []):
                if isinstance(branch, dict) and "default" in branch:
                    node.setdefault("default", branch.pop("default"))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result
