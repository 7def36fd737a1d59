"""Consent given at the till (issue 14): `POST /api/pos/v1/members` takes `consent_sms`,
`consent_email`, `consent_zalo` and `consent_push` as JSON booleans and records each one given
with the source `till`; anything but a boolean is a 400 with nothing written."""

import json

import pytest

from members.models import ConsentChange, Member
from tests.members.helpers import written_state

pytestmark = pytest.mark.django_db
ENROL = "/api/pos/v1/members"


def enrol(client, body, key="enrol-consent-1", **extra):
    return client.post(ENROL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_consents_given_at_the_till_are_stored_and_recorded_with_the_source_till(pos_client):
    response = enrol(
        pos_client,
        {"name": "Lan", "phone": "0912345678", "consent_sms": True, "consent_zalo": True, "consent_email": False},
    )
    assert response.status_code == 201, response.content
    member = Member.objects.get()
    assert member.consent_sms_at is not None and member.consent_zalo_at is not None
    assert member.consent_email_at is None and member.consent_push_at is None
    recorded = list(ConsentChange.objects.order_by("channel").values_list("channel", "given", "source", "by_id"))
    assert recorded == [("sms", True, "till", None), ("zalo", True, "till", None)]
    assert ConsentChange.objects.get(channel="sms").at == member.consent_sms_at


def test_without_consent_fields_nothing_is_consented_or_recorded(pos_client):
    assert enrol(pos_client, {"name": "Lan", "phone": "0912345678"}).status_code == 201
    member = Member.objects.get()
    assert all(member.consent_given_at(channel) is None for channel in Member.CONSENT_CHANNELS)
    assert not ConsentChange.objects.exists()


@pytest.mark.parametrize("value", ["true", "yes", 1, 0, "1", "on", None, [], {}])
@pytest.mark.parametrize("field", ["consent_sms", "consent_email", "consent_zalo", "consent_push"])
def test_a_consent_that_is_not_a_json_boolean_is_400_and_writes_nothing(pos_client, field, value):
    before = written_state()
    response = enrol(pos_client, {"name": "Lan", "phone": "0912345678", field: value}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][field]
    assert written_state() == before


def test_the_schema_documents_the_consent_fields_as_booleans(client):
    schema = client.get("/api/schema/?format=json").json()
    fields = schema["components"]["schemas"]["MemberEnrolInputRequest"]["properties"]
    for channel in Member.CONSENT_CHANNELS:
        assert fields[f"consent_{channel}"]["type"] == "boolean"
