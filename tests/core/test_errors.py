"""Django's validation turned into the project's refusal, the same way in every service."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from loyalty_site.core.errors import ValidationFailed, clean_or_refuse, refusal_errors, refusal_from
from loyalty_site.core.models import IdempotencyRecord


def _valid_record(**changes) -> IdempotencyRecord:
    values = {
        "scope": "terminal:1",
        "key": "k-1",
        "request_hash": "0" * 64,
        "method": "POST",
        "path": "/api/pos/v1/sales",
        "response_status": 201,
        "response_body": b"{}",
        "response_content_type": "application/json",
    }
    return IdempotencyRecord(**{**values, **changes})


def test_errors_per_field_keep_their_field_and_become_text():
    exc = ValidationError({"phone": [ValidationError("Bad phone %(p)s.", params={"p": "x"})], "name": ["Empty."]})
    assert refusal_errors(exc) == {"phone": ["Bad phone x."], "name": ["Empty."]}


def test_errors_that_name_no_field_go_where_full_clean_puts_them():
    assert refusal_errors(ValidationError(["One.", "Two."])) == {NON_FIELD_ERRORS: ["One.", "Two."]}


def test_refusal_from_is_a_validation_failure_carrying_the_errors():
    refusal = refusal_from(ValidationError({"code": ["Taken."]}))
    assert isinstance(refusal, ValidationFailed)
    assert refusal.errors == {"code": ["Taken."]}
    assert refusal.status == 400


def test_clean_or_refuse_refuses_an_invalid_row_and_writes_nothing():
    record = _valid_record(method="", response_status=None)
    with pytest.raises(ValidationFailed) as refused:
        clean_or_refuse(record, validate_unique=False, validate_constraints=False)
    assert set(refused.value.errors) == {"method", "response_status"}
    assert isinstance(refused.value.__cause__, ValidationError)
    assert record.pk is None


def test_clean_or_refuse_passes_its_options_to_full_clean():
    record = _valid_record(method="")
    clean_or_refuse(record, exclude=["method"], validate_unique=False, validate_constraints=False)
    with pytest.raises(ValidationFailed):
        clean_or_refuse(record, validate_unique=False, validate_constraints=False)


@pytest.mark.django_db
def test_clean_or_refuse_checks_uniqueness_by_default():
    _valid_record().save()
    with pytest.raises(ValidationFailed) as refused:
        clean_or_refuse(_valid_record())
    assert NON_FIELD_ERRORS in refused.value.errors
    assert IdempotencyRecord.objects.count() == 1
