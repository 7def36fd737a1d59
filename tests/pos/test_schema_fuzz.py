"""Schema-driven fuzzing (schemathesis) of every POS endpoint against the demo programme: whatever
the generated input, the API answers with a documented client error or success, never a 5xx,
and every error is problem+json."""

import uuid

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.models import Store
from stores.services import terminal_create
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Like Django's test client: the real WSGI handler would close the test's connection at
    the end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_no_input_makes_the_pos_api_fail_with_a_server_error(demo_programme, wsgi_keeps_the_test_connection):
    MemberFactory(points=500, phone="0912345678")
    _, key = terminal_create(store=Store.objects.get(code="PHO-HN01"), name="fuzz")
    # The online orders (pos-api.md 1.2) answer only an online shop's key: theirs gets generated bodies too.
    _, online_key = terminal_create(store=Store.objects.get(code="PHO-HN01"), name="fuzz web", kind="online")
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/pos/v1/")]
    assert len(operations) >= 9  # every endpoint of pos-api.md is documented
    failures = []

    def fuzzer(operation):
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), database=None)  # fmt: skip
        @given(data=st.data())
        def fuzz(data):
            case = data.draw(operation.as_strategy())
            headers = dict(case.headers or {})
            headers["Authorization"] = f"Api-Key {online_key if '/orders' in operation.path else key}"
            if case.method.upper() == "POST":
                headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
            response = case.call(headers=headers)
            content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
            content_type = content_type[0] if isinstance(content_type, list) else content_type
            if response.status_code >= 500 or (
                response.status_code >= 400 and not content_type.startswith("application/problem+json")
            ):
                failures.append((case.method, case.path, case.body, response.status_code, response.text[:300]))

        return fuzz

    for operation in operations:
        fuzzer(operation)()
    assert failures == []
