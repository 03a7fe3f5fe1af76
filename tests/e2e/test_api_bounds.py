"""Regressions found by schemathesis: inputs at the edges get an honest 4xx, never a 500."""

from __future__ import annotations

from tests.e2e.harness import Proxy


async def test_a_huge_page_number_is_refused_not_a_server_error(proxy: Proxy) -> None:
    response = await proxy.client.get("/mj/task/list", params={"page": 499657361663271936})
    assert response.status_code == 422
    assert "page" in response.json()["detail"]
    assert (await proxy.client.get("/mj/task/list", params={"page": 1_000_000})).status_code == 200
    callbacks = await proxy.client.get("/mj/admin/callbacks", params={"page": 326209434691813788090368})
    assert callbacks.status_code == 422 and "page" in callbacks.json()["detail"]
    assert (await proxy.client.get("/mj/admin/callbacks", params={"page": 1_000_000})).status_code == 200


async def test_validation_errors_match_the_openapi_document(proxy: Proxy) -> None:
    document = (await proxy.client.get("/openapi.json")).json()
    assert document["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]["type"] == "string"
    assert "422" not in document["paths"]["/mj/submit/imagine"]["post"]["responses"]
    response = await proxy.client.post("/mj/insight-face/swap", json={"notifyHook": "not a url"})
    assert response.status_code == 422 and isinstance(response.json()["detail"], str)


async def test_an_invalid_upload_request_answers_what_the_document_promises(proxy: Proxy) -> None:
    """Regression: code 4 came with ``result: null`` while the document promised an array."""
    response = await proxy.client.post("/mj/submit/upload-discord-images", json=[])
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 4 and body["result"] is None
    document = (await proxy.client.get("/openapi.json")).json()
    result = document["components"]["schemas"]["UploadResultOut"]["properties"]["result"]
    assert {"type": "null"} in result["anyOf"]
