"""No input makes a server error (issue 11 §1): strings that are not Unicode, deep nesting, bodies that are not
JSON, control bytes in URLs and integers out of any range, sent to every route of every face. Each is answered
in the face's own error shape, and nothing is stored or sent to Discord."""

from __future__ import annotations

from typing import Any

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy

ACCOUNT_SYNC = {"info", "settings"}
SURROGATE = b'"\\ud800"'  # a lone surrogate: valid JSON syntax, not a Unicode string


def jobs_sent(emulator: Emulator) -> list[str]:
    return [str(i.data.get("name") or i.data.get("custom_id")) for i in emulator.world.interactions.values()
            if i.data.get("name") not in ACCOUNT_SYNC]


async def operations(proxy: Proxy) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path with its parameters filled in, operation) for every documented route that takes a body."""
    document = (await proxy.client.get("/openapi.json")).json()
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            filled = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    filled = filled.replace("{" + parameter["name"] + "}", "1")
            found.append((method.upper(), filled, operation))
    return found


def body_fields(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return list(schema.get("properties", {}))


def hostile_bodies(fields: list[str]) -> list[bytes]:
    bodies = [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
              b"\xff\xfe not json at all \x00", b"{not json", b"1" * 5000, b"NaN", b'{"x": "\\ud800"}',
              b'{"\\udfff": 1}']
    for field in fields or ["prompt"]:
        name = field.encode()
        bodies += [b'{"' + name + b'": ' + SURROGATE + b"}",
                   b'{"' + name + b'": ["a", ' + SURROGATE + b"]}",
                   b'{"' + name + b'": {"k": ' + SURROGATE + b"}}",
                   b'{"' + name + b'": "a\\u0000b"}',
                   b'{"' + name + b'": 1' + b"0" * 40 + b"}",
                   b'{"' + name + b'": -1' + b"0" * 40 + b"}",
                   b'{"' + name + b'": 1e400}',
                   b'{"' + name + b'": Infinity}']
    return bodies


def check_shape(path: str, status: int, body: Any) -> None:
    assert status < 500, (path, status, body)
    if status < 400 and not path.startswith("/mj/submit/"):
        return
    if path.startswith("/v2/"):
        assert isinstance(body, dict) and body.get("code") == status and isinstance(body.get("error"), str), body
    elif path.startswith("/mj/submit/"):
        assert body["code"] == 4, (path, body)


async def test_hostile_bodies_never_make_a_server_error_and_change_nothing(proxy: Proxy, emulator: Emulator) -> None:
    document = (await proxy.client.get("/openapi.json")).json()
    problems: list[str] = []
    for method, path, operation in await operations(proxy):
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        for body in hostile_bodies(body_fields(document, operation)):
            response = await proxy.client.request(method, path, content=body,
                                                  headers={"content-type": "application/json"})
            try:
                check_shape(path, response.status_code, response.json())
            except (AssertionError, ValueError, KeyError, TypeError) as exc:
                problems.append(f"{method} {path} {body[:60]!r}: {response.status_code} {response.text[:200]} {exc}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])
    assert (await proxy.client.get("/mj/task/list")).headers["X-Total-Count"] == "0"
    assert jobs_sent(emulator) == []
    accounts = (await proxy.client.get("/mj/account/list")).json()
    assert [a["id"] for a in accounts] == [emulator.sandbox.channel_id]


CONTROL = ["%00", "%01", "%1f", "%7f", "a%0d%0ab", "%0a"]


async def test_control_bytes_in_urls_are_refused_in_each_face_shape(proxy: Proxy, emulator: Emulator) -> None:
    problems = []
    for byte in CONTROL:
        for path in [f"/mj/task/{byte}/fetch", f"/mj/task/{byte}/image-seed", f"/mj/image/{byte}",
                     f"/media/{byte}", f"/media/tasks/{byte}.png", f"/mj/account/{byte}/fetch",
                     f"/v2/account/midjourney/{byte}", f"/v2/jobs/?jobid={byte}", f"/v2/jobs/cancel/?jobid={byte}",
                     f"/mj/task/list?page={byte}", f"/mj/api-key/{byte}/revoke"]:
            method = "POST" if path.endswith("/revoke") else "GET"
            response = await proxy.client.request(method, path)
            if response.status_code >= 500 or response.status_code != 400:
                problems.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
                continue
            body = response.json()
            if path.startswith("/v2/") and not (body.get("code") == 400 and "error" in body):
                problems.append(f"{path}: not useapi's error shape: {body}")
        response = await proxy.client.post(f"/mj/submit/imagine?x={byte}", json={"prompt": "a cat"})
        assert response.status_code == 400 and response.json()["code"] == 4, response.text
    assert not problems, "\n".join(problems)
    assert (await proxy.client.get("/mj/task/list")).headers["X-Total-Count"] == "0"
    assert jobs_sent(emulator) == []


async def test_out_of_range_integers_in_queries_and_bodies_are_4xx(proxy: Proxy) -> None:
    huge = "9" * 40
    for path in [f"/mj/task/list?page={huge}", f"/mj/task/list?size={huge}", f"/mj/admin/callbacks?page={huge}",
                 f"/mj/image/1?index={huge}", f"/mj/task/list?page=-{huge}"]:
        response = await proxy.client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    for path, body in [("/mj/account/query", {"pageNumber": 10**30}), ("/mj/account/query", {"pageSize": -10**30}),
                       ("/mj/submit/change", {"taskId": "1", "action": "UPSCALE", "index": 10**30}),
                       ("/v2/jobs/imagine", {"prompt": "a cat", "maxJobs": 10**30}),
                       ("/mj/account/create", {"guildId": "1", "channelId": "2", "userToken": "t", "coreSize": 10**30,
                                               "dailyLimit": 10**30})]:
        response = await proxy.client.post(path, json=body)
        assert 200 <= response.status_code < 500, (path, response.status_code, response.text)
        if path.startswith("/mj/submit/"):
            assert response.json()["code"] == 4
        elif response.status_code >= 400 and path.startswith("/v2/"):
            assert response.json()["code"] == response.status_code
    assert (await proxy.client.get("/mj/task/list")).headers["X-Total-Count"] == "0"
