"""Schemathesis over every operation of the OpenAPI document: no generated input yields a 5xx,
and every real response conforms to the document (its status is declared, its content type and
body match the declared schema: the ErrorOut envelope for errors, the response model otherwise).

Each operation gets Hypothesis-generated requests (valid and invalid per the schema), sent
signed-in as a producer so that authenticated handlers run past their auth check.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

EXAMPLES_PER_OPERATION = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_generated_input_gives_a_server_error_or_an_undocumented_response(api):
    headers = api.sign_in(api.world.producer)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25  # every endpoint is in the document

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as exc:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} "
                    f"{response.text[:200]}: {str(exc)[:300]}"
                )

        run()
    assert not failures, "\n".join(failures[:10])
