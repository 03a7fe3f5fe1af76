"""Property-based API testing against the real server (a child process in sandbox mode): whatever a client
sends, no 5xx, and every response conforms to our OpenAPI document (schemathesis, valid and invalid requests);
and hostile bytes (hypothesis: lone surrogates, out-of-range numbers, deep nesting, bytes that are not JSON,
control characters in URLs) on every route of every face are refused in the face's shape, storing nothing.
Bounded so that it takes about a minute in CI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
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


# -- hostile bytes (hypothesis) --------------------------------------------------------------------------

HOSTILE_EXAMPLES = 400  # in all, over every route: ~20 s

# Strings that are not Unicode (lone surrogates, json.dumps writes them as \udXXX escapes), NUL characters.
poison_text = st.builds(lambda a, s, b: a + s + b, st.text(max_size=8),
                        st.sampled_from(["\ud800", "\udfff", "\udbff\udbff", "\x00"]), st.text(max_size=8))
poison_number = st.one_of(st.integers(min_value=2**53), st.integers(max_value=-(2**53)))
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=10), inner, max_size=3)),
                          max_leaves=8)


@st.composite
def hostile_body(draw: st.DrawFn, fields: list[str]) -> bytes:
    """A body no route may accept: any JSON object with one poisoned value somewhere, or raw bytes."""
    kind = draw(st.sampled_from(["field", "nested", "key", "deep", "constant", "raw"]))
    if kind == "raw":
        return draw(st.binary(min_size=1, max_size=200).filter(lambda b: not _parses(b)))
    if kind == "deep":
        depth = draw(st.integers(40, 3000))
        return b"[" * depth + b"]" * depth
    if kind == "constant":
        return b'{"%s": %s}' % (draw(st.sampled_from(fields)).encode(), draw(st.sampled_from([b"NaN", b"Infinity",
                                                                                              b"-Infinity", b"1e999"])))
    body = draw(st.dictionaries(st.sampled_from(fields), json_value, max_size=4))
    poison = draw(st.one_of(poison_text, poison_number))
    if kind == "key" and isinstance(poison, str):
        body[poison] = 1
    elif kind == "nested":
        body[draw(st.sampled_from(fields))] = {"inner": [1, poison]}
    else:
        body[draw(st.sampled_from(fields))] = poison
    return json.dumps(body).encode()


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def is_stream(path: str) -> bool:
    """The SSE routes (api/streams/): they answer for as long as the client listens."""
    return path.endswith("/events")


def test_hostile_bytes_on_every_route_are_refused_in_each_face_shape(server: str) -> None:
    headers = {"mj-api-secret": API_SECRET}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
        document = client.get("/openapi.json").json()
        # Event streams never end on their own (they are fuzzed for isolation in tests/e2e/test_streams.py).
        routes = [(method.upper(), path) for path, methods in document["paths"].items() for method in methods
                  if not is_stream(path)]
        fields = sorted({name for schema in document["components"]["schemas"].values()
                         for name in schema.get("properties", {})})
        stored_before = client.get("/mj/task/list").headers["X-Total-Count"]

        @given(route=st.sampled_from(routes), body=hostile_body(fields),
               control=st.sampled_from(["%00", "%1f", "%7F", "%0d%0a"]), in_query=st.booleans())
        @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def refused(route: tuple[str, str], body: bytes, control: str, in_query: bool) -> None:
            method, template = route
            path = re.sub(r"\{[^}]+\}", "1", template)
            if method in ("GET", "HEAD"):  # no body: the URL is the hostile part
                path = f"{path}?jobid=a{control}b" if in_query else re.sub(r"/1(/|$)", f"/a{control}\\1", path)
                response = client.request(method, path)
            else:
                response = client.request(method, path, content=body, headers={"content-type": "application/json"})
            assert response.status_code < 500, (method, path, body[:80], response.text[:300])
            if method in ("GET", "HEAD") and path == template:
                return  # nothing hostile reached a route without parameters
            assert 400 <= response.status_code < 500 or path.startswith("/mj/submit/"), (method, path, body[:80],
                                                                                          response.text[:300])
            answer = response.json() if method != "HEAD" else {}
            if path.startswith("/v2/") and method != "HEAD":
                assert answer["code"] == response.status_code and isinstance(answer["error"], str), answer
            elif path.startswith("/mj/submit/"):
                assert answer["code"] == 4, answer

        refused()
        assert client.get("/mj/task/list").headers["X-Total-Count"] == stored_before, "a hostile request was stored"


def test_no_server_error_and_schema_conformance(server: str) -> None:
    """Every operation of /openapi.json with generated requests. schemathesis's pytest plugin does not run
    under pytest 9, so its Python API drives hypothesis here: one property per operation."""
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if is_stream(operation.path):
            continue  # an event stream stays open by design
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
