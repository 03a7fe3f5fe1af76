"""Every /v2 answer validates against useapi's jobs schema (tests/contracts/useapi_jobs.schema.json), as a strict
client generated from useapi's OpenAPI description would parse it (issue 11 §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import proxy_settings, running_emulator, running_proxy
from tests.e2e.useapi_helpers import get_job, imagine_completed, post, wait_job

SCHEMA = json.loads((Path(__file__).parents[1] / "contracts" / "useapi_jobs.schema.json").read_text("utf-8"))


def check(definition: str, body: Any) -> None:
    validator = jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{definition}"})
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    assert not problems, f"{definition}: {problems}\n{json.dumps(body, ensure_ascii=False)[:1500]}"


def test_the_schema_refuses_what_strict_clients_refuse() -> None:
    """The schema can fail: the three answers the issue found invalid are invalid here."""
    job = {"jobid": "1", "verb": "imagine", "status": "completed", "created": "t", "channel": "c", "server": "s",
           "maxJobs": 3, "code": 200}
    with pytest.raises(AssertionError):
        check("job", {**job, "children": [{"button": "U1", "jobid": "2"}]})  # no messageId
    with pytest.raises(AssertionError):
        check("button_submit", {**job, "verb": "button", "status": "created", "updated": "t", "button": "U1",
                                "parentJobId": "1"})
    with pytest.raises(AssertionError):
        check("describe", {**job, "verb": "describe", "status": "started", "updated": "t", "describeUrl": "u",
                           "messageId": "m", "timestamp": "t"})  # no content


async def test_imagine_button_describe_blend_seed_cancel(emulator: Emulator, tmp_path: Path) -> None:
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        client = proxy.client
        started = await post(client, "/v2/jobs/imagine", {"prompt": "a contract cat"})
        check("imagine", started)
        grid = await wait_job(client, started["jobid"])
        check("job", grid)
        child = await post(client, "/v2/jobs/button", {"jobid": grid["jobid"], "button": "U1"})
        check("button_submit", child)
        upscale = await wait_job(client, child["jobid"])
        check("job", upscale)
        again = await post(client, "/v2/jobs/button", {"jobid": grid["jobid"], "button": "U1"})  # execute-once
        check("button_submit", again)
        check("job", await get_job(client, grid["jobid"]))  # now with children
        described = await post(client, "/v2/jobs/describe", {"describeUrl": "https://example.invalid/cat.png"})
        check("describe", described)
        check("job", await wait_job(client, described["jobid"]))
        urls = [f"{proxy.base_url}/mj/image/{grid['jobid']}", f"{proxy.base_url}/mj/image/{upscale['jobid']}"]
        blended = await post(client, "/v2/jobs/blend", {"blendUrls": urls, "blendDimensions": "Portrait"})
        check("blend", blended)
        check("job", await wait_job(client, blended["jobid"]))
        seed = await post(client, "/v2/jobs/seed", {"jobid": grid["jobid"]})
        check("seed", seed)
        missing = await client.get("/v2/jobs/", params={"jobid": "nope"})
        check("error", missing.json())


async def test_a_parent_with_a_child_cancelled_before_midjourney_answered(tmp_path: Path) -> None:
    async with running_emulator(never_ack_triggers=["upsample::2"]) as emulator:
        # U1 is answered well within the wait even on a loaded machine; U2 (never acknowledged) is not.
        settings = proxy_settings(emulator, tmp_path, useapi={"submit_wait_seconds": 2.0})
        async with running_proxy(settings) as proxy:
            client = proxy.client
            grid = await imagine_completed(client, "a patient lighthouse")
            answered = await post(client, "/v2/jobs/button", {"jobid": grid["jobid"], "button": "U1"})
            silent = await client.post("/v2/jobs/button", json={"jobid": grid["jobid"], "button": "U2"})
            assert silent.status_code == 200, silent.text
            check("button_submit", answered)
            # The one knowing difference (docs/useapi.md): Midjourney did not answer within submit_wait_seconds.
            assert silent.json()["status"] == "created"
            check("job", silent.json())
            cancelled = await client.get("/v2/jobs/cancel/", params={"jobid": silent.json()["jobid"]})
            check("cancel", cancelled.json())
            await wait_job(client, answered["jobid"])
            parent = await get_job(client, grid["jobid"])
            check("job", parent)
            assert [c["button"] for c in parent["children"]] == ["U1"]  # U2 never reached Midjourney
            check("job", await get_job(client, silent.json()["jobid"]))


async def test_the_openapi_document_describes_every_v2_request_body(emulator: Emulator, tmp_path: Path) -> None:
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        document = (await proxy.client.get("/openapi.json")).json()
    expected = {"/v2/jobs/imagine": "prompt", "/v2/jobs/button": "button", "/v2/jobs/describe": "describeUrl",
                "/v2/jobs/blend": "blendUrls", "/v2/jobs/seed": "jobid", "/v2/account/midjourney/{channel}": "discord"}
    for path, field in expected.items():
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert field in body["properties"], (path, body)
