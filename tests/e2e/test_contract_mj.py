"""The /mj Task JSON as midjourney-proxy clients read it, in every status and for every action (issue 11 §4):
no empty list fields (an empty list is truthy in JavaScript), the properties keys those clients read always
present, and ``progress`` as midjourney-proxy reports it before a start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.harness import (
    HookReceiver,
    button,
    png_data_url,
    proxy_settings,
    running_emulator,
    running_proxy,
    submit,
)

PROPERTY_KEYS = {"finalPrompt", "finalZhPrompt", "notifyHook", "discordInstanceId", "messageId", "progressMessageId",
                 "messageHash", "nonce", "flags", "botType", "messageContent"}
FIELDS = {"id", "action", "status", "prompt", "promptEn", "description", "state", "submitTime", "startTime",
          "finishTime", "imageUrl", "imageUrls", "progress", "failReason", "buttons", "properties", "botType"}


def problems_of(task: dict[str, Any]) -> list[str]:
    found = []
    if missing := FIELDS - set(task):
        found.append(f"fields missing: {missing}")
    if missing := PROPERTY_KEYS - set(task["properties"]):
        found.append(f"properties missing: {missing}")
    for key, value in task.items():
        if value == [] and key != "buttons":  # buttons stays a list: clients iterate it
            found.append(f"{key} is []")
    for key, value in task["properties"].items():
        if value == []:
            found.append(f"properties.{key} is []")
    if not isinstance(task["buttons"], list):
        found.append("buttons is not a list")
    if task["status"] in ("NOT_START", "SUBMITTED", "MODAL") and task["progress"] != "0%":
        found.append(f"progress {task['progress']!r} before a start")
    if task["status"] == "SUCCESS" and task["progress"] != "100%":
        found.append(f"progress {task['progress']!r} on success")
    if task["status"] == "FAILURE" and task["progress"] != "":
        found.append(f"progress {task['progress']!r} on failure")
    text_result = task["action"] in ("DESCRIBE", "SHORTEN") and task["status"] == "SUCCESS"
    if text_result and not task["properties"]["finalZhPrompt"]:
        found.append("a text result without finalZhPrompt")
    return found


async def test_task_json_in_every_status_and_for_every_action(tmp_path: Path, hooks: HookReceiver) -> None:
    async with running_emulator(job_duration_s=0.3, never_ack_triggers=["never-answered"]) as emulator:
        settings = proxy_settings(emulator, tmp_path, server={"notify_hook": hooks.url})
        async with running_proxy(settings) as proxy:
            seen: list[dict[str, Any]] = []

            async def done(result: dict[str, Any]) -> dict[str, Any]:
                assert result["code"] in (1, 22), result
                task = await proxy.wait_for(result["result"], on_poll=seen.append)
                assert task["status"] == "SUCCESS", task
                return task

            grid = await done(await proxy.imagine("a contract lighthouse"))
            upscale = await done(await submit(proxy, "/mj/submit/action",
                                              {"taskId": grid["id"], "customId": button(grid, "U1")}))
            await done(await submit(proxy, "/mj/submit/action", {"taskId": grid["id"], "customId": button(grid, "V2")}))
            await done(await submit(proxy, "/mj/submit/action", {"taskId": grid["id"], "customId": button(grid, "🔄")}))
            await done(await submit(proxy, "/mj/submit/action",
                                    {"taskId": upscale["id"], "customId": button(upscale, "Zoom Out 2x")}))
            await done(await submit(proxy, "/mj/submit/action",
                                    {"taskId": upscale["id"], "customId": button(upscale, "⬅️")}))
            opened = await submit(proxy, "/mj/submit/action",
                                  {"taskId": upscale["id"], "customId": button(upscale, "Custom Zoom")})
            assert opened["code"] == 21
            seen.append(await proxy.fetch(opened["result"]))  # MODAL
            await done(await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"]}))
            await done(await submit(proxy, "/mj/submit/describe", {"base64": png_data_url()}))
            await done(await submit(proxy, "/mj/submit/blend", {"base64Array": [png_data_url(color=(1, 2, 3)),
                                                                                png_data_url(color=(90, 9, 9))]}))
            await done(await submit(proxy, "/mj/submit/shorten", {"prompt": "a very long and detailed prompt "
                                                                            "about a contract lighthouse"}))
            failed = await proxy.wait_for((await proxy.imagine("a bannedword lighthouse"))["result"])
            silent = await proxy.imagine("never-answered lighthouse")
            seen.append(await proxy.fetch(silent["result"]))
            cancelled = await proxy.client.post(f"/mj/task/{silent['result']}/cancel")
            assert cancelled.status_code == 200
            seen += [failed, await proxy.fetch(silent["result"])]
            seen += (await proxy.client.get("/mj/task/list")).json()
            await hooks.wait_for(lambda: len(hooks.bodies) > 20)
            seen += hooks.bodies
    statuses = {t["status"] for t in seen}
    actions = {t["action"] for t in seen}
    assert {"SUBMITTED", "IN_PROGRESS", "SUCCESS", "FAILURE", "CANCEL", "MODAL"} <= statuses, statuses
    assert {"IMAGINE", "UPSCALE", "VARIATION", "REROLL", "ZOOM", "PAN", "DESCRIBE", "BLEND", "SHORTEN"} <= actions
    problems = [f"{t['action']} {t['status']}: {p}" for t in seen for p in problems_of(t)]
    assert not problems, "\n".join(sorted(set(problems)))
