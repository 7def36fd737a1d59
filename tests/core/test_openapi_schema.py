"""The OpenAPI schema POS vendors generate clients from passes a standard validator
(openapi-spec-validator), so CI validates it on every run."""

import pytest
from openapi_spec_validator import validate

from loyalty_site.core.api.schema import lift_defaults_out_of_one_of


@pytest.mark.django_db
def test_the_served_schema_is_valid_openapi(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.") and schema["paths"]
    validate(schema)  # raises OpenAPIValidationError with the offending path


def test_a_default_inside_one_of_moves_beside_it():
    email = {"oneOf": [{"type": "string", "format": "email", "default": ""}, {"type": "string", "maxLength": 0}]}
    schema = {"components": {"schemas": {"MemberInput": {"properties": {"email": email}}}}}
    lift_defaults_out_of_one_of(schema)
    assert email == {
        "oneOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}],
        "default": "",
    }
