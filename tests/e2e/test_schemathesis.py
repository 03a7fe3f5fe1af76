"""Property-based API testing with schemathesis against the real server (a child process in sandbox mode):
whatever a client sends, no 5xx, and every response conforms to our OpenAPI document. Bounded so that it
takes about a minute in CI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from tests.e2e.process import free_port, to_toml
from tests.e2e.sync_process import SyncServer

API_SECRET = "schemathesis-secret-0123456789"
MAX_EXAMPLES = 40  # per operation and mode: about a minute on a loaded CI machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    port = free_port()
    config = data_dir / "mjproxy.toml"
    config.write_text(to_toml({
        "server": {"host": "127.0.0.1", "port": port, "api_secret": API_SECRET},
        "storage": {"database_url": f"sqlite+aiosqlite:///{data_dir}/mjproxy.db", "data_dir": str(data_dir)},
        "sandbox": {"enabled": "always", "job_duration_seconds": 0.0},
        "engine": {"timeout_sweep_seconds": 0.5},
        "logging": {"level": "WARNING"},
    }), "utf-8")
    with SyncServer(config, port, data_dir / "proxy.log") as running:
        yield running.base_url


def test_no_server_error_and_schema_conformance(server: str) -> None:
    """Every operation of /openapi.json with generated requests. schemathesis's pytest plugin does not run
    under pytest 9, so its Python API drives hypothesis here: one property per operation."""
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        # Valid requests and invalid ones (wrong types, missing fields, out-of-range values).
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            def property_holds(case: Any) -> None:
                case.call_and_validate(base_url=server, headers={"mj-api-secret": API_SECRET}, timeout=30,
                                       checks=[not_a_server_error, response_schema_conformance,
                                               content_type_conformance])

            try:
                property_holds()
            except Unsatisfiable:
                continue  # nothing invalid to send (no parameters, or only free-form path strings)
            except (Exception, BaseExceptionGroup) as exc:  # keep going: one report for every operation
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000])
    assert operations > 20, f"only {operations} operations in the OpenAPI document"
    assert not failures, "\n\n".join(failures)
