"""Property-based tests over the OpenAPI schema: schemathesis generates requests for every
operation, valid (positive) and invalid (negative), and no answer may be a server error.

Writes are fuzzed with the API token configured, except ``POST /api/checks``, which would fetch
whatever URL it is given: it is fuzzed without the token (403), so nothing leaves the machine.

(schemathesis' lazy ``from_fixture`` loader does not run under pytest 9, so each operation is a
parametrized test that loads the schema from the app over the ``engine`` fixture and runs
hypothesis over ``operation.as_strategy()``.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api.app import create_app
from jobs.settings import Settings
from storage.db import make_engine
from tests.conftest import make_settings
from tests.fixtures.web.app import TOKEN, seed_archive

MAX_EXAMPLES = 30


def operations() -> list[tuple[str, str, GenerationMode]]:
    """Every (method, path) of the OpenAPI document, positive, and negative where it takes input
    (building the app touches no database)."""
    paths = create_app(Settings(), make_engine("sqlite://")).openapi()["paths"]
    found = []
    for path, ops in paths.items():
        for method, op in ops.items():
            found.append((method.upper(), path, GenerationMode.POSITIVE))
            if op.get("parameters") or op.get("requestBody"):
                found.append((method.upper(), path, GenerationMode.NEGATIVE))
    return found


@pytest.mark.parametrize(("method", "path", "mode"), operations(), ids=lambda v: getattr(v, "value", v))
def test_no_server_error(method, path, mode, engine, db_url, clock):
    seed_archive(engine, clock())
    app = create_app(make_settings(db_url, api_token=TOKEN), engine, clock=clock)
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]
    fetches = (method, path) == ("POST", "/api/checks")
    headers = {} if fetches else {"Authorization": f"Bearer {TOKEN}"}

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def no_server_error(case) -> None:
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        if fetches:
            assert response.status_code in (400, 401, 403, 422), response.text  # never a fetch

    no_server_error()
