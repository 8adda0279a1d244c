"""Schemathesis over every operation of the OpenAPI document: no generated input yields a 5xx
or an exception, and every real response conforms to the document (its status is declared, its
content type and body match the declared schema: the ErrorOut envelope for errors, the response
model otherwise); and a route that declares the bearer scheme answers no 2xx without a valid
token. (Schemathesis's negative_data_rejection is left out: it counts an unknown query parameter,
which any HTTP API ignores, as invalid input accepted.)

Each operation gets Hypothesis-generated requests of both kinds: valid per the schema (so the
handlers run past validation) and invalid (wrong types, out-of-range numbers, missing or extra
fields, bodies of the wrong media type), sent signed-in as a producer so that authenticated
handlers run past their auth check. Deterministic and bounded: a fixed seed, no example
database, a few examples per operation and kind (tens of seconds per database); the deeper
sweep that found tests/api/test_fuzz_regressions.py ran the same checks with more examples,
real ids and a battery of malformed paths, bodies and headers.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

SEED = 20261203
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 5}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,  # a route that declares the bearer scheme refuses a missing or forged token
]


def test_no_generated_input_gives_a_server_error_or_an_undocumented_response(api):
    headers = api.sign_in(api.world.producer)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 80  # every endpoint is in the document

    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @seed(SEED)
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(mode), kind=st.just(mode.value))
            def run(case, kind: str) -> None:
                where = (
                    f"{kind} {case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
                )
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # the app raised: a 500 under a real server
                    failures.append(f"{where}: raised {exc!r:.300}")
                    return
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as exc:
                    failures.append(
                        f"{where}: {response.status_code} {response.text[:200]}: {str(exc)[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, no body): the valid kind covers it.
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert not failures, "\n".join(failures[:10])
